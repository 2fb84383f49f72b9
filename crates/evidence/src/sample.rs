//! The case sample: how many items an auditor tests for a control of a given frequency, and a
//! reproducible draw from a recorded seed.
//!
//! Sizes follow the AICPA audit guide's usual table for tests of controls (the same table
//! most SOC 2 auditors use): annual 1, quarterly 2, monthly 2, weekly 5, daily 25, many times
//! a day 25 (the guide's range is 25–40; auditors may ask for more). Alert response is an
//! event-driven control, so its frequency is read from how often it operated: the number of
//! cases in the period, annualised.
//!
//! The draw is a Fisher–Yates shuffle of the population (case ids ascending) driven by
//! SplitMix64 seeded with the recorded seed, keeping the first `n`: anyone can repeat it
//! (the algorithm is 10 lines, written out in `alerts/sample.json`).

use serde::Serialize;

/// How often a control operates, as auditors classify it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Frequency {
    /// Once a year.
    Annual,
    /// Once a quarter.
    Quarterly,
    /// Once a month.
    Monthly,
    /// Once a week.
    Weekly,
    /// Once a day.
    Daily,
    /// Several times a day.
    ManyTimesADay,
}

impl Frequency {
    /// The frequency of an event-driven control that operated `occurrences` times in a
    /// period of `days` days (annualised: ≥ 730/yr many times a day, ≥ 250 daily, ≥ 52
    /// weekly, ≥ 12 monthly, ≥ 4 quarterly, else annual).
    pub fn from_occurrences(occurrences: usize, days: u32) -> Frequency {
        let per_year = occurrences as f64 * 365.0 / f64::from(days.max(1));
        match per_year {
            y if y >= 730.0 => Frequency::ManyTimesADay,
            y if y >= 250.0 => Frequency::Daily,
            y if y >= 52.0 => Frequency::Weekly,
            y if y >= 12.0 => Frequency::Monthly,
            y if y >= 4.0 => Frequency::Quarterly,
            _ => Frequency::Annual,
        }
    }

    /// The name used in the package (`many-times-a-day`).
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Annual => "annual",
            Frequency::Quarterly => "quarterly",
            Frequency::Monthly => "monthly",
            Frequency::Weekly => "weekly",
            Frequency::Daily => "daily",
            Frequency::ManyTimesADay => "many-times-a-day",
        }
    }
}

/// Items to test for a control of `frequency` (AICPA table above), never more than the
/// population.
pub fn sample_size(frequency: Frequency, population: usize) -> usize {
    let n = match frequency {
        Frequency::Annual => 1,
        Frequency::Quarterly | Frequency::Monthly => 2,
        Frequency::Weekly => 5,
        Frequency::Daily | Frequency::ManyTimesADay => 25,
    };
    n.min(population)
}

/// A drawn sample with what is needed to repeat it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SampleDraw {
    /// The recorded seed.
    pub seed: u64,
    /// How often the control operated, as classified.
    pub frequency: Frequency,
    /// Items in the population.
    pub population: usize,
    /// The drawn items, ascending.
    pub items: Vec<i64>,
}

/// Draws `sample_size(frequency, population.len())` items from `population` with `seed`.
/// The population is sorted first, so its order does not matter.
pub fn draw_sample(population: &[i64], frequency: Frequency, seed: u64) -> SampleDraw {
    let mut items = population.to_vec();
    items.sort_unstable();
    items.dedup();
    let n = sample_size(frequency, items.len());
    let mut state = seed;
    for i in 0..n {
        let remaining = (items.len() - i) as u64;
        let j = i + (splitmix64(&mut state) % remaining) as usize;
        items.swap(i, j);
    }
    items.truncate(n);
    let population = population.len();
    items.sort_unstable();
    SampleDraw {
        seed,
        frequency,
        population,
        items,
    }
}

/// The algorithm as recorded in the package, so the draw can be repeated by hand.
pub(crate) const ALGORITHM: &str = "population sorted ascending; state = seed; for i in 0..n: \
state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; \
z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31; j = i + z mod (len - i); swap(i, j) \
(all arithmetic mod 2^64); the sample is the first n items, sorted";

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_and_sizes() {
        assert_eq!(Frequency::from_occurrences(20, 30), Frequency::Weekly);
        assert_eq!(
            Frequency::from_occurrences(100, 30),
            Frequency::ManyTimesADay
        );
        assert_eq!(Frequency::from_occurrences(25, 30), Frequency::Daily);
        assert_eq!(Frequency::from_occurrences(1, 30), Frequency::Monthly);
        assert_eq!(Frequency::from_occurrences(1, 365), Frequency::Annual);
        assert_eq!(sample_size(Frequency::Weekly, 20), 5);
        assert_eq!(sample_size(Frequency::Daily, 3), 3);
        assert_eq!(sample_size(Frequency::Quarterly, 9), 2);
    }

    #[test]
    fn draws_repeat_for_a_seed() {
        let pop: Vec<i64> = (1..=20).collect();
        let a = draw_sample(&pop, Frequency::Weekly, 7);
        let mut reversed = pop.clone();
        reversed.reverse();
        assert_eq!(a, draw_sample(&reversed, Frequency::Weekly, 7));
        assert_eq!(a.items.len(), 5);
        assert_ne!(a.items, draw_sample(&pop, Frequency::Weekly, 8).items);
        assert_eq!(splitmix64(&mut 0), 0xE220_A839_7B1D_CDAF);
    }
}
