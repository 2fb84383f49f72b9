//! Time for the generators: the demo window, business-hours curves, and the vendors' timestamp
//! spellings.
//!
//! Times are `i64` milliseconds since the Unix epoch. Calendar fields come from a closed-form
//! civil-date conversion, so formatting never fails and costs no more than a few divisions per
//! record.

use chrono::{DateTime, Utc};
use rand::RngExt;
use rand::rngs::StdRng;

use crate::dice;

/// One second in milliseconds.
pub(crate) const SECOND: i64 = 1_000;
/// One minute in milliseconds.
pub(crate) const MINUTE: i64 = 60 * SECOND;
/// One hour in milliseconds.
pub(crate) const HOUR: i64 = 60 * MINUTE;
/// One day in milliseconds.
pub(crate) const DAY: i64 = 24 * HOUR;

/// The half-open range `[start, end)` the demo covers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// Inclusive; never before chrono's earliest representable instant.
    pub(crate) start: i64,
    /// Exclusive; `start <= end`.
    pub(crate) end: i64,
}

impl Window {
    /// The `days` days that end at `end`, clamped to chrono's range.
    pub(crate) fn new(end: DateTime<Utc>, days: u32) -> Self {
        let end = end.timestamp_millis();
        let earliest = DateTime::<Utc>::MIN_UTC.timestamp_millis();
        // u32::MAX days is ~3.7e17 ms, far inside i64, so only the clamp can bite.
        let start = end.saturating_sub(i64::from(days) * DAY).max(earliest);
        Window { start, end }
    }

    /// Whether `t` lies inside the window.
    pub(crate) fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }

    /// UTC midnights of the calendar days that lie wholly inside the window.
    pub(crate) fn whole_days(&self) -> Vec<i64> {
        let first = self.start.div_euclid(DAY) + i64::from(self.start.rem_euclid(DAY) != 0);
        let last = self.end.div_euclid(DAY); // exclusive
        (first..last).map(|d| d * DAY).collect()
    }
}

/// How a source's volume spreads over the hours of a day (UTC) and the days of a week.
pub(crate) struct Curve {
    /// Relative weight of each hour of the day.
    hours: [f64; 24],
    /// Multiplier for Saturdays and Sundays.
    weekend: f64,
}

/// Staff working hours: a morning ramp, a lunch dip, quiet nights, near-empty weekends.
pub(crate) const OFFICE: Curve = Curve {
    hours: [
        0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.5, 4.0, 8.0, 10.0, 10.5, 10.0, 7.5, 9.0, 10.0, 9.5, 8.5,
        6.5, 4.0, 2.5, 2.0, 1.5, 1.0, 0.7,
    ],
    weekend: 0.12,
};

/// Customer traffic: customers span time zones, so nights are quieter but never silent.
pub(crate) const CUSTOMER: Curve = Curve {
    hours: [
        4.0, 3.5, 3.0, 2.8, 2.8, 3.2, 4.0, 5.5, 7.0, 8.0, 8.5, 8.5, 8.0, 8.5, 9.0, 9.5, 9.5, 9.0,
        8.0, 7.0, 6.0, 5.5, 5.0, 4.5,
    ],
    weekend: 0.65,
};

/// Machine traffic that does not care about the clock.
pub(crate) const FLAT: Curve = Curve {
    hours: [1.0; 24],
    weekend: 1.0,
};

/// Random instants in `window`, about `per_weekday` of them on a weekday, spread by `curve`.
///
/// Each day's volume is jittered by ±15% so days differ. The instants come back sorted, so
/// generators that keep state (statement counters, sessions) see time move forward.
pub(crate) fn scatter(
    rng: &mut StdRng,
    window: &Window,
    per_weekday: f64,
    curve: &Curve,
) -> Vec<i64> {
    let mut out = Vec::new();
    if per_weekday <= 0.0 || window.start >= window.end {
        return out;
    }
    let total: f64 = curve.hours.iter().sum();
    let mut day = i64::MIN;
    let mut jitter = 1.0;
    let mut slot = window.start.div_euclid(HOUR) * HOUR;
    while slot < window.end {
        let civil = civil(slot);
        if slot.div_euclid(DAY) != day {
            day = slot.div_euclid(DAY);
            jitter = rng.random_range(0.85..1.15);
        }
        let weekend = if civil.weekday >= 5 {
            curve.weekend
        } else {
            1.0
        };
        let hour_share = curve.hours[civil.hour as usize] / total;
        let n = dice::count(rng, per_weekday * jitter * weekend * hour_share);
        for _ in 0..n {
            let t = slot + rng.random_range(0..HOUR);
            if window.contains(t) {
                out.push(t);
            }
        }
        slot += HOUR;
    }
    out.sort_unstable();
    out
}

/// Broken-down UTC calendar time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    /// 1–12.
    pub(crate) month: u32,
    /// 1–31.
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    pub(crate) milli: u32,
    /// 0 = Monday … 6 = Sunday.
    pub(crate) weekday: u32,
}

/// Splits `ms` into calendar fields (proleptic Gregorian, UTC).
pub(crate) fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Every field below is bounded by its modulus, so the narrowing casts cannot truncate.
    Civil {
        year,
        month: month as u32,
        day: day as u32,
        hour: (rem / HOUR) as u32,
        minute: (rem % HOUR / MINUTE) as u32,
        second: (rem % MINUTE / SECOND) as u32,
        milli: (rem % SECOND) as u32,
        weekday: (days + 3).rem_euclid(7) as u32,
    }
}

/// `2026-11-03T09:14:07Z` (CloudTrail `eventTime`).
pub(crate) fn iso_seconds(ms: i64) -> String {
    let c = civil(ms);
    let mut s = String::with_capacity(20);
    date(&mut s, &c, '-');
    s.push('T');
    time(&mut s, &c);
    s.push('Z');
    s
}

/// `2026-11-03T09:14:07.123Z` (Okta `published`, application logs).
pub(crate) fn iso_millis(ms: i64) -> String {
    let c = civil(ms);
    let mut s = String::with_capacity(24);
    date(&mut s, &c, '-');
    s.push('T');
    time(&mut s, &c);
    s.push('.');
    pad(&mut s, c.milli.into(), 3);
    s.push('Z');
    s
}

/// `Nov  3 09:14:07` (RFC 3164: no year, day padded with a space).
pub(crate) fn syslog(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = civil(ms);
    let mut s = String::with_capacity(15);
    s.push_str(MONTHS[(c.month as usize).saturating_sub(1) % 12]);
    s.push(' ');
    if c.day < 10 {
        s.push(' ');
    }
    pad(&mut s, c.day.into(), 1);
    s.push(' ');
    time(&mut s, &c);
    s
}

/// `2026-11-03 09:14:07.123 UTC` (PostgreSQL `%m`).
pub(crate) fn postgres(ms: i64) -> String {
    let c = civil(ms);
    let mut s = String::with_capacity(27);
    date(&mut s, &c, '-');
    s.push(' ');
    time(&mut s, &c);
    s.push('.');
    pad(&mut s, c.milli.into(), 3);
    s.push_str(" UTC");
    s
}

/// The instant as a chrono value, for the public API.
pub(crate) fn to_datetime(ms: i64) -> DateTime<Utc> {
    // Every instant the generators produce lies in a `Window`, whose bounds come from valid
    // `DateTime`s, so the conversion only fails on a bug; fall back to the epoch rather than panic.
    debug_assert!(
        DateTime::from_timestamp_millis(ms).is_some(),
        "{ms} out of range"
    );
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

fn date(s: &mut String, c: &Civil, sep: char) {
    pad(s, c.year, 4);
    s.push(sep);
    pad(s, c.month.into(), 2);
    s.push(sep);
    pad(s, c.day.into(), 2);
}

fn time(s: &mut String, c: &Civil) {
    pad(s, c.hour.into(), 2);
    s.push(':');
    pad(s, c.minute.into(), 2);
    s.push(':');
    pad(s, c.second.into(), 2);
}

/// Appends `n` in decimal, zero-padded to `width` digits.
fn pad(s: &mut String, n: i64, width: usize) {
    if n < 0 {
        s.push('-');
    }
    let digits = n.unsigned_abs().to_string();
    for _ in digits.len()..width {
        s.push('0');
    }
    s.push_str(&digits);
}

#[cfg(test)]
mod tests {
    // Calendar maths and timestamp spellings, checked against chrono.
    use super::*;
    use chrono::{Datelike, Timelike};

    #[test]
    fn civil_matches_chrono() {
        let mut ms = -5_000_000_000_000_i64; // 1811
        while ms < 7_000_000_000_000 {
            let dt = to_datetime(ms);
            let c = civil(ms);
            assert_eq!(c.year, i64::from(dt.year()), "{dt}");
            assert_eq!((c.month, c.day), (dt.month(), dt.day()), "{dt}");
            assert_eq!(
                (c.hour, c.minute, c.second),
                (dt.hour(), dt.minute(), dt.second())
            );
            assert_eq!(c.milli, dt.timestamp_subsec_millis());
            assert_eq!(c.weekday, dt.weekday().num_days_from_monday(), "{dt}");
            ms += 86_399_999 * 3 + 7;
        }
    }

    #[test]
    fn spellings() {
        let ms = 1_793_697_247_123; // 2026-11-03T09:14:07.123Z
        assert_eq!(iso_seconds(ms), "2026-11-03T09:14:07Z");
        assert_eq!(iso_millis(ms), "2026-11-03T09:14:07.123Z");
        assert_eq!(syslog(ms), "Nov  3 09:14:07");
        assert_eq!(syslog(ms + 10 * DAY), "Nov 13 09:14:07");
        assert_eq!(postgres(ms), "2026-11-03 09:14:07.123 UTC");
    }

    #[test]
    fn whole_days_lie_inside() {
        let end = to_datetime(1_793_697_247_123);
        let w = Window::new(end, 3);
        let days = w.whole_days();
        assert_eq!(days.len(), 2);
        assert!(days.iter().all(|&d| w.contains(d) && d + DAY <= w.end));
        let midnight = Window::new(to_datetime(20_000 * DAY), 3);
        assert_eq!(midnight.whole_days().len(), 3);
        assert!(Window::new(end, 0).whole_days().is_empty());
    }
}
