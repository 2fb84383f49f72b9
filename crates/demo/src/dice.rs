//! Seeded random helpers: vendor-shaped identifiers, picks from constant tables, and counts.
//!
//! Every generator draws from its own `StdRng`, so these take `&mut StdRng` rather than a
//! generic: one code path, and the output only depends on the seed.

use rand::RngExt;
use rand::rngs::StdRng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";

/// A random (version 4) UUID, lower-case and hyphenated, as CloudTrail and Okta print them.
pub(crate) fn uuid(rng: &mut StdRng) -> String {
    let bits: u128 = rng.random();
    // Version 4, RFC 4122 variant.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `n` lower-case hex digits.
pub(crate) fn hex(rng: &mut StdRng, n: usize) -> String {
    from_alphabet(rng, HEX, n)
}

/// `n` mixed-case letters and digits (Okta ids, GitHub document ids).
pub(crate) fn alnum(rng: &mut StdRng, n: usize) -> String {
    from_alphabet(rng, ALNUM, n)
}

/// `n` upper-case letters and digits 2–7 (AWS access key and principal ids).
pub(crate) fn upper(rng: &mut StdRng, n: usize) -> String {
    from_alphabet(rng, UPPER_ALNUM, n)
}

/// An identifier derived from `name` alone, so an Okta group or app keeps one id across records:
/// `prefix` plus 17 letters and digits.
pub(crate) fn stable_id(prefix: &str, name: &str) -> String {
    format!("{prefix}{}", stable(ALNUM, name, 17))
}

/// `n` hex digits derived from `name` alone (instance ids, role suffixes).
pub(crate) fn stable_hex(name: &str, n: usize) -> String {
    stable(HEX, name, n)
}

/// `n` upper-case characters derived from `name` alone (AWS unique ids).
pub(crate) fn stable_upper(name: &str, n: usize) -> String {
    stable(UPPER_ALNUM, name, n)
}

/// A number derived from `name` alone (FNV-1a), for ids that must not change between records.
pub(crate) fn stable_u64(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn stable(alphabet: &[u8], name: &str, n: usize) -> String {
    // FNV-1a, then a multiply-xorshift stream.
    let mut h = stable_u64(name);
    (0..n)
        .map(|_| {
            h ^= h >> 29;
            h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            // The modulus keeps the index inside the alphabet.
            char::from(alphabet[((h >> 32) % alphabet.len() as u64) as usize])
        })
        .collect()
}

fn from_alphabet(rng: &mut StdRng, alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// One element of a constant table.
///
/// Panics on an empty slice; callers pass compile-time tables, which are never empty.
pub(crate) fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    debug_assert!(!items.is_empty(), "pick from an empty table");
    &items[rng.random_range(0..items.len())]
}

/// One element of a constant table of `(weight, item)`, chosen in proportion to its weight.
///
/// Panics when every weight is zero; callers pass compile-time tables with positive weights.
pub(crate) fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(u32, T)]) -> &'a T {
    let total: u32 = items.iter().map(|(w, _)| w).sum();
    debug_assert!(total > 0, "weighted pick from a table without weight");
    let mut roll = rng.random_range(0..total);
    for (w, item) in items {
        if roll < *w {
            return item;
        }
        roll -= w;
    }
    // Unreachable: `roll < total`, the sum of the weights walked above.
    &items[items.len() - 1].1
}

/// A whole count whose mean is `expected`: the integer part, plus one with the probability of
/// the fraction. Cheaper than a Poisson draw and good enough for diurnal volumes.
pub(crate) fn count(rng: &mut StdRng, expected: f64) -> usize {
    if expected <= 0.0 || !expected.is_finite() {
        return 0;
    }
    let whole = expected.floor();
    let extra = usize::from(rng.random_bool(expected - whole));
    // `as` saturates; the volumes here are far below usize::MAX.
    whole as usize + extra
}

/// An ephemeral client port, as Linux picks them.
pub(crate) fn ephemeral_port(rng: &mut StdRng) -> u16 {
    rng.random_range(32768..61000)
}

#[cfg(test)]
mod tests {
    // Shapes of generated identifiers and the fairness of the helpers.
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn uuid_is_version_4_shaped() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let u = uuid(&mut rng);
            let parts: Vec<&str> = u.split('-').collect();
            let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
            assert_eq!(lens, [8, 4, 4, 4, 12], "{u}");
            assert!(parts[2].starts_with('4'), "{u}");
            assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{u}");
        }
    }

    #[test]
    fn count_has_the_expected_mean() {
        let mut rng = StdRng::seed_from_u64(2);
        let total: usize = (0..10_000).map(|_| count(&mut rng, 2.25)).sum();
        assert!((21_500..23_500).contains(&total), "{total}");
        assert_eq!(count(&mut rng, 0.0), 0);
        assert_eq!(count(&mut rng, f64::NAN), 0);
    }

    #[test]
    fn weighted_respects_weights() {
        let mut rng = StdRng::seed_from_u64(3);
        let table = [(0, 'a'), (3, 'b'), (1, 'c')];
        let b = (0..4000)
            .filter(|_| *weighted(&mut rng, &table) == 'b')
            .count();
        assert!((2800..3200).contains(&b), "{b}");
        assert!((0..100).all(|_| *weighted(&mut rng, &table) != 'a'));
    }
}
