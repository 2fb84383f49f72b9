//! The kernel's view of clock synchronization. Auditors ask whether log timestamps can be
//! trusted; Linux answers through `adjtimex(2)`: whether an NTP daemon has disciplined the
//! clock (the `STA_UNSYNC` status bit clear), the current offset and the error estimates.
//! This is the workspace's only `unsafe` code, contained in [`sys`].
//!
//! ```
//! let status = evident_clock::clock_status()?;
//! println!("synchronized: {}, max error {} µs", status.synchronized, status.max_error_us);
//! # Ok::<(), std::io::Error>(())
//! ```

/// What the kernel says about the system clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockStatus {
    /// True when the kernel considers the clock synchronized (`STA_UNSYNC` clear and
    /// adjtimex did not return `TIME_ERROR`).
    pub synchronized: bool,
    /// Current offset being corrected, in microseconds.
    pub offset_us: i64,
    /// Maximum error estimate, in microseconds (grows while unsynchronized).
    pub max_error_us: i64,
    /// Estimated error, in microseconds.
    pub est_error_us: i64,
}

/// Reads the clock status without changing anything.
pub fn clock_status() -> std::io::Result<ClockStatus> {
    let t = sys::read_timex()?;
    let nano = t.status & libc::STA_NANO != 0;
    let offset_us = if nano { t.offset / 1000 } else { t.offset };
    Ok(ClockStatus {
        synchronized: t.state != libc::TIME_ERROR && t.status & libc::STA_UNSYNC == 0,
        offset_us,
        max_error_us: t.maxerror,
        est_error_us: t.esterror,
    })
}

/// The raw fields we read from `struct timex`.
struct Timex {
    state: i32,
    status: i32,
    offset: i64,
    maxerror: i64,
    esterror: i64,
}

#[allow(unsafe_code)]
mod sys {
    //! # Safety
    //!
    //! `adjtimex(2)` with `modes = 0` only reads kernel state into the `timex` we pass. The
    //! struct is `#[repr(C)]`, made of integers, so the all-zero value is valid, and the
    //! pointer we pass is to a live, exclusively borrowed local.

    use super::Timex;

    pub(super) fn read_timex() -> std::io::Result<Timex> {
        // SAFETY: see the module docs: a zeroed plain-integer repr(C) struct is valid.
        let mut tx: libc::timex = unsafe { std::mem::zeroed() };
        tx.modes = 0;
        // SAFETY: `tx` is a valid, exclusively borrowed timex; modes = 0 means read-only.
        let state = unsafe { libc::adjtimex(&mut tx) };
        if state < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Timex {
            state,
            status: tx.status,
            offset: tx.offset as i64,
            maxerror: tx.maxerror as i64,
            esterror: tx.esterror as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_readable_and_consistent() {
        let s = clock_status().unwrap();
        // The kernel caps maxerror at 16 s (NTP_PHASE_LIMIT) and never reports it negative.
        assert!((0..=16_000_000).contains(&s.max_error_us), "{s:?}");
        if s.synchronized {
            assert!(s.max_error_us < 16_000_000, "{s:?}");
        }
    }
}
