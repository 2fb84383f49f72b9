//! The value axis: a "nice" maximum and step (1, 2 or 5 × 10ⁿ) so tick labels read as round
//! numbers, and the one number formatter every label and tooltip uses.

/// A value axis from 0 to `max` in ticks of `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    /// Top of the axis: the smallest multiple of `step` ≥ the data's maximum (never 0).
    pub max: f64,
    /// Distance between ticks: 1, 2 or 5 × 10ⁿ, chosen for about four intervals.
    pub step: f64,
}

impl Axis {
    /// The axis for data whose largest value is `data_max` (0, negative or NaN gives 0..1).
    pub fn for_max(data_max: f64) -> Self {
        if !data_max.is_finite() || data_max <= 0.0 {
            return Axis {
                max: 1.0,
                step: 1.0,
            };
        }
        let raw = data_max / 4.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw * (1.0 - 1e-9))
            .unwrap_or(10.0 * magnitude);
        let intervals = (data_max / step - 1e-9).ceil().max(1.0);
        Axis {
            max: step * intervals,
            step,
        }
    }

    /// Tick values from 0 to `max` inclusive (computed by multiplication, so no drift).
    pub fn ticks(&self) -> Vec<f64> {
        let n = (self.max / self.step).round() as usize;
        (0..=n).map(|i| self.step * i as f64).collect()
    }
}

/// A value as text: integers without a decimal point, others with at most two decimals and
/// no trailing zeros (`3`, `2.5`, `0.33`). Deterministic across platforms.
pub fn format_number(v: f64) -> String {
    trim(format!("{:.2}", v))
}

/// A coordinate rounded to 0.1 px (`12`, `12.5`), keeping SVG output short and stable.
pub(crate) fn format_coord(v: f64) -> String {
    trim(format!("{:.1}", v))
}

fn trim(s: String) -> String {
    let t = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s.as_str()
    };
    if t == "-0" {
        "0".to_string()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axes() {
        assert_eq!(
            Axis::for_max(5.0),
            Axis {
                max: 6.0,
                step: 2.0
            }
        );
        assert_eq!(
            Axis::for_max(3.0),
            Axis {
                max: 3.0,
                step: 1.0
            }
        );
        assert_eq!(
            Axis::for_max(4.0),
            Axis {
                max: 4.0,
                step: 1.0
            }
        );
        assert_eq!(
            Axis::for_max(17.0),
            Axis {
                max: 20.0,
                step: 5.0
            }
        );
        assert_eq!(
            Axis::for_max(0.0),
            Axis {
                max: 1.0,
                step: 1.0
            }
        );
        assert_eq!(
            Axis::for_max(f64::NAN),
            Axis {
                max: 1.0,
                step: 1.0
            }
        );
        assert_eq!(Axis::for_max(130.0).ticks(), vec![0.0, 50.0, 100.0, 150.0]);
    }

    #[test]
    fn numbers() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(1.0 / 3.0), "0.33");
        assert_eq!(format_number(-0.0001), "0");
        assert_eq!(format_coord(12.04), "12");
        assert_eq!(format_coord(12.25), "12.2");
    }
}
