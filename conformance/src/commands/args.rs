//! The CLI's numbers and durations: parsed and range-checked as clap reads them, so
//! every flag says in plain words what it accepts.
//!
//! A duration flag takes a number with a unit (`500ms`, `35s`, `1.5s`, `2m`, `1h`,
//! or several, `1m30s`) or a plain number in the flag's own unit (seconds for the
//! probe's flags, milliseconds for the `…-ms` flags of the reference servers). A
//! count flag takes a whole number. Either way a value out of range, negative, or
//! not a number at all is refused with the flag's real range, never with a parser's
//! internal wording ("invalid float literal") or clap's advice to write `-- -1`
//! (the flags are declared with `allow_hyphen_values`, so a negative value reaches
//! the parser and is refused here).

use std::time::Duration;

/// The longest value any duration flag accepts.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// The unit of a duration written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainUnit {
    /// `--observe 20` means 20 s.
    Seconds,
    /// `--heartbeat-ms 500` means 500 ms.
    Milliseconds,
}

impl PlainUnit {
    fn name(self) -> &'static str {
        match self {
            PlainUnit::Seconds => "seconds",
            PlainUnit::Milliseconds => "milliseconds",
        }
    }

    fn nanos(self) -> f64 {
        match self {
            PlainUnit::Seconds => 1e9,
            PlainUnit::Milliseconds => 1e6,
        }
    }
}

/// Parses a duration: `35s`, `500ms`, `1.5s`, `2m`, `1h`, `1m30s`, or a plain
/// number in `plain` units. Refuses negative values, zero, and more than
/// [`MAX_DURATION`], with a sentence that states the accepted range.
pub(crate) fn duration(text: &str, plain: PlainUnit) -> Result<Duration, String> {
    let range = format!("a duration above 0 and at most {}", describe(MAX_DURATION));
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("must be {range}; it cannot be negative"));
    }
    let nanos = parse_nanos(trimmed, plain).ok_or_else(|| {
        format!(
            "must be {range}: a number with a unit (500ms, 35s, 1.5s, 2m, 1h, 1m30s) or a plain number of {}",
            plain.name()
        )
    })?;
    if nanos <= 0.0 {
        return Err(format!("must be {range}, not zero"));
    }
    if nanos > MAX_DURATION.as_nanos() as f64 {
        return Err(format!("must be {range}"));
    }
    // Whole nanoseconds: `1.5s` is exactly 1_500_000_000.
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// The value in nanoseconds, or `None` when the text is not a duration.
fn parse_nanos(text: &str, plain: PlainUnit) -> Option<f64> {
    if text.is_empty() {
        return None;
    }
    if let Some(number) = decimal(text) {
        return Some(number * plain.nanos());
    }
    let mut rest = text;
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = decimal(rest.get(..digits)?)?;
        rest = rest.get(digits..)?;
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_len)?.trim();
        rest = rest.get(unit_len..)?.trim_start();
        let per_unit = match unit {
            "ms" => 1e6,
            "s" | "sec" | "secs" => 1e9,
            "m" | "min" | "mins" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * per_unit;
    }
    Some(total)
}

/// A plain decimal number: digits with at most one `.` (no sign, no exponent, no
/// `inf`), so what is accepted is what a person writes.
fn decimal(text: &str) -> Option<f64> {
    let text = text.trim();
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let dots = text.chars().filter(|&c| c == '.').count();
    if digits == 0 || dots > 1 || digits + dots != text.len() {
        return None;
    }
    text.parse().ok()
}

/// A duration for people: `300 ms`, `2 s`, `1.5 s`, `2 min`, `24 h`.
pub(crate) fn describe(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if d < Duration::from_secs(1) {
        format!("{} ms", trim_float(secs * 1000.0))
    } else if secs < 120.0 || secs % 60.0 != 0.0 {
        format!("{} s", trim_float(secs))
    } else if secs < 7200.0 || secs % 3600.0 != 0.0 {
        format!("{} min", trim_float(secs / 60.0))
    } else {
        format!("{} h", trim_float(secs / 3600.0))
    }
}

/// `2`, `1.5`, `0.25`: at most three decimals, no trailing zeros.
fn trim_float(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Parses a whole number in `min..=max`, refusing anything else with the range.
pub(crate) fn count(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let range = if max == u64::MAX {
        format!("a whole number, at least {min}")
    } else {
        format!("a whole number from {min} to {max}")
    };
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("must be {range}; it cannot be negative"));
    }
    let value: u64 = trimmed.parse().map_err(|_| format!("must be {range}"))?;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be {range}"))
    }
}

/// clap value parsers for the flags (each a plain `fn(&str) -> Result<T, String>`).
pub(crate) mod parse {
    use std::num::NonZeroUsize;
    use std::time::Duration;

    use super::{PlainUnit, count, duration};

    /// The most checks `--jobs` runs at once.
    pub(crate) const MAX_JOBS: u64 = 1024;

    /// `--observe`, `--check-timeout`, `--deadline`: plain numbers are seconds.
    pub(crate) fn seconds(text: &str) -> Result<Duration, String> {
        duration(text, PlainUnit::Seconds)
    }

    /// The reference servers' `…-ms` flags: plain numbers are milliseconds.
    pub(crate) fn millis(text: &str) -> Result<Duration, String> {
        duration(text, PlainUnit::Milliseconds)
    }

    /// `--jobs`: 1 to [`MAX_JOBS`].
    pub(crate) fn jobs(text: &str) -> Result<usize, String> {
        count(text, 1, MAX_JOBS).map(|n| n as usize)
    }

    /// A size in bytes or a chunk size: at least 1.
    pub(crate) fn positive_usize(text: &str) -> Result<usize, String> {
        let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
        count(text, 1, max).and_then(|n| usize::try_from(n).map_err(|e| e.to_string()))
    }

    /// `--chunk-size`: at least 1.
    pub(crate) fn chunk_size(text: &str) -> Result<NonZeroUsize, String> {
        positive_usize(text)
            .and_then(|n| NonZeroUsize::new(n).ok_or_else(|| "must be at least 1".to_owned()))
    }

    /// A size in bytes held in a `u64`: at least 1.
    pub(crate) fn positive_u64(text: &str) -> Result<u64, String> {
        count(text, 1, u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Result<Duration, String> {
        duration(text, PlainUnit::Seconds)
    }

    #[test]
    fn durations_take_units_or_plain_numbers() {
        assert_eq!(secs("35s"), Ok(Duration::from_secs(35)));
        assert_eq!(secs("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(secs("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(secs("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(secs("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(secs("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(secs("20"), Ok(Duration::from_secs(20)));
        assert_eq!(secs(" 0.25 "), Ok(Duration::from_millis(250)));
        assert_eq!(secs("86400"), Ok(MAX_DURATION));
        assert_eq!(
            duration("250", PlainUnit::Milliseconds),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(
            duration("2s", PlainUnit::Milliseconds),
            Ok(Duration::from_secs(2))
        );
    }

    #[test]
    fn bad_durations_state_the_range() {
        for bad in [
            "", "abc", "5x", "1e3", "inf", "NaN", "1..5s", "s", "ms5", "5 s s", "1,5s",
        ] {
            let err = secs(bad).unwrap_err();
            assert!(
                err.contains("a duration above 0 and at most 24 h"),
                "{bad}: {err}"
            );
            assert!(err.contains("35s"), "{bad}: {err}");
        }
        assert!(secs("-1").unwrap_err().contains("cannot be negative"));
        assert!(secs("-5s").unwrap_err().contains("cannot be negative"));
        assert!(secs("0").unwrap_err().contains("not zero"));
        assert!(secs("0ms").unwrap_err().contains("not zero"));
        assert_eq!(
            secs("86401").unwrap_err(),
            "must be a duration above 0 and at most 24 h"
        );
        assert!(
            duration("x", PlainUnit::Milliseconds)
                .unwrap_err()
                .contains("plain number of milliseconds")
        );
    }

    #[test]
    fn counts_state_their_range() {
        assert_eq!(count("32", 1, 1024), Ok(32));
        assert_eq!(
            count("-1", 1, 1024).unwrap_err(),
            "must be a whole number from 1 to 1024; it cannot be negative"
        );
        assert_eq!(
            count("0", 1, 1024).unwrap_err(),
            "must be a whole number from 1 to 1024"
        );
        assert_eq!(
            count("99999999999999999999999", 1, 1024).unwrap_err(),
            "must be a whole number from 1 to 1024"
        );
        assert_eq!(
            count("2.5", 1, u64::MAX).unwrap_err(),
            "must be a whole number, at least 1"
        );
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(describe(Duration::from_millis(300)), "300 ms");
        assert_eq!(describe(Duration::from_secs(2)), "2 s");
        assert_eq!(describe(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(describe(Duration::from_secs(90)), "90 s");
        assert_eq!(describe(Duration::from_secs(120)), "2 min");
        assert_eq!(describe(MAX_DURATION), "24 h");
    }
}
