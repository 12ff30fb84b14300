//! Time on the wire and in the core.
//!
//! The core never reads a clock: every instant it sees is a [`Timestamp`] handed in by
//! the caller. Arithmetic saturates instead of panicking, because a transition must be
//! total over every input, including absurd intervals and clocks that jump.

use chrono::{DateTime, SecondsFormat, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An instant in UTC. Serialises as RFC 3339 with a `Z` suffix.
pub type Timestamp = DateTime<Utc>;

/// Graph writes a time that was never set as the zero `DateTime` of .NET.
pub const NEVER: &str = "0001-01-01T00:00:00Z";

/// Formats an instant the way Graph does: RFC 3339, UTC, `Z`, fractions only when present.
pub fn format_ts(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `serialize_with` for a [`Timestamp`]: the text of chrono's own `Serialize`, built in
/// one piece. chrono's impl streams through `collect_str`, which makes serde_json scan
/// every character as a separate fragment: four times slower, on every commit's path.
pub fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_ts(t))
}

/// `serialize_with` for an optional [`Timestamp`] (`null` when absent); see [`ser_ts`].
pub fn ser_opt_ts<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_ts(t, s),
        None => s.serialize_none(),
    }
}

/// Parses an RFC 3339 instant (any offset) into UTC.
pub fn parse_ts(s: &str) -> Result<Timestamp, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

/// `t + d`, saturating at the largest representable instant instead of panicking.
pub fn add(t: Timestamp, d: IsoDuration) -> Timestamp {
    i64::try_from(d.secs())
        .ok()
        .and_then(TimeDelta::try_seconds)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whole seconds from `a` to `b`, zero when `b` is before `a`.
pub fn secs_between(a: Timestamp, b: Timestamp) -> u64 {
    (b - a).num_seconds().max(0) as u64
}

/// A fixed instant for tests and examples: 2026-12-03T17:00:00Z.
pub fn epoch_for_tests() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 12, 3, 17, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Serde adapter for `Option<Timestamp>` written as [`NEVER`] when absent.
pub mod never_if_none {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_ts(t)),
            None => s.serialize_str(NEVER),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let s = String::deserialize(d)?;
        if s == NEVER {
            return Ok(None);
        }
        parse_ts(&s).map(Some).map_err(serde::de::Error::custom)
    }
}

/// A span of time written as an ISO 8601 duration (`PT40M`, `P1D`, `PT1H30M`).
///
/// Held as whole seconds: the engine schedules in seconds, and a canonical form
/// (days, hours, minutes, seconds) makes every value the engine writes read back equal.
/// Parsing is the `iso8601` crate's; years and months are taken as 365 and 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IsoDuration(u64);

impl IsoDuration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }
    pub const fn from_mins(mins: u64) -> Self {
        Self(mins * 60)
    }
    pub const fn from_hours(hours: u64) -> Self {
        Self(hours * 3600)
    }
    pub const fn from_days(days: u64) -> Self {
        Self(days * 86_400)
    }
    pub const fn secs(self) -> u64 {
        self.0
    }
    /// `self × 2^k`, saturating.
    pub fn doubled(self, k: u32) -> Self {
        Self(
            self.0
                .checked_shl(k)
                .filter(|v| v >> k == self.0)
                .unwrap_or(u64::MAX),
        )
    }
}

/// An ISO 8601 duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not an ISO 8601 duration (for example PT40M or P1D): {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: String,
}

impl FromStr for IsoDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| DurationError {
            input: s.to_string(),
            reason,
        };
        let t = s.trim();
        // The crate is lenient about designators without numbers (`PTM`); Graph is not.
        let well_formed = t.starts_with('P')
            && !t.ends_with('T')
            && t[1..]
                .split(|c: char| c.is_ascii_alphabetic())
                .filter(|n| !n.is_empty())
                .count()
                == t[1..]
                    .chars()
                    .filter(|c| c.is_ascii_alphabetic() && *c != 'T')
                    .count();
        if !well_formed {
            return Err(err("every designator needs a number".into()));
        }
        let parsed = iso8601::duration(t).map_err(err)?;
        let std: std::time::Duration = parsed.into();
        if std.subsec_nanos() != 0 {
            return Err(err("fractions of a second are not supported".into()));
        }
        Ok(Self(std.as_secs()))
    }
}

impl IsoDuration {
    /// The canonical text: days, then hours, minutes and seconds, each only when
    /// non-zero (`PT0S` for zero). Built by hand, not through `fmt`: every commit
    /// encodes the policy's durations.
    pub fn to_iso(self) -> String {
        if self.0 == 0 {
            return "PT0S".into();
        }
        let (days, rest) = (self.0 / 86_400, self.0 % 86_400);
        let mut out = String::with_capacity(16);
        out.push('P');
        push_part(&mut out, days, 'D');
        if rest > 0 {
            out.push('T');
            push_part(&mut out, rest / 3600, 'H');
            push_part(&mut out, rest % 3600 / 60, 'M');
            push_part(&mut out, rest % 60, 'S');
        }
        out
    }
}

/// Appends `n` and its designator, unless `n` is zero.
fn push_part(out: &mut String, n: u64, designator: char) {
    if n == 0 {
        return;
    }
    let mut digits = [0u8; 20];
    let (mut i, mut n) = (digits.len(), n);
    while n > 0 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
    out.push(designator);
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl Serialize for IsoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One string, not `collect_str`: see `ser_ts`.
        s.serialize_str(&self.to_iso())
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn contract_durations_round_trip() {
        for s in ["PT40M", "P1D", "PT1H30M", "PT0S", "P2DT3H4M5S", "PT24H1S"] {
            let d: IsoDuration = s.parse().unwrap();
            let back = d.to_string();
            let again: IsoDuration = back.parse().unwrap();
            assert_eq!(d, again, "{s}");
        }
        assert_eq!("PT40M".parse::<IsoDuration>().unwrap().to_string(), "PT40M");
        assert_eq!("P1D".parse::<IsoDuration>().unwrap().to_string(), "P1D");
        assert_eq!("PT1H30M".parse::<IsoDuration>().unwrap().to_string(), "PT1H30M");
        assert_eq!("PT90M".parse::<IsoDuration>().unwrap().secs(), 5400);
    }

    #[test]
    fn bad_durations_are_typed_errors() {
        for s in ["", "40M", "P", "PTM", "forty minutes", "P1DT", "PT1.5S"] {
            assert!(s.parse::<IsoDuration>().is_err(), "{s} should be refused");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        let t = epoch_for_tests();
        assert_eq!(add(t, IsoDuration(u64::MAX)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(IsoDuration(u64::MAX).doubled(3).secs(), u64::MAX);
        assert_eq!(IsoDuration(60).doubled(2).secs(), 240);
        assert_eq!(secs_between(t, t - TimeDelta::seconds(5)), 0);
    }

    #[test]
    fn timestamps_are_utc_z() {
        let t = epoch_for_tests();
        assert_eq!(format_ts(&t), "2026-12-03T17:00:00Z");
        assert_eq!(parse_ts("2026-12-03T18:00:00+01:00").unwrap(), t);
    }

    #[test]
    fn canonical_durations() {
        for (secs, text) in [
            (0, "PT0S"),
            (1, "PT1S"),
            (60, "PT1M"),
            (3600, "PT1H"),
            (86_400, "P1D"),
            (90_061, "P1DT1H1M1S"),
            (86_400 * 365, "P365D"),
            (u64::MAX, "P213503982334601DT7H15S"),
        ] {
            assert_eq!(IsoDuration::from_secs(secs).to_string(), text);
            assert_eq!(
                serde_json::to_string(&IsoDuration::from_secs(secs)).unwrap(),
                format!("\"{text}\"")
            );
        }
    }

    /// The fast serializers write exactly what chrono's own `Serialize` writes, for
    /// whole seconds and for every precision of fractions.
    #[test]
    fn timestamps_serialize_as_chrono_does() {
        #[derive(Serialize)]
        struct Fast(#[serde(serialize_with = "ser_ts")] Timestamp);
        #[derive(Serialize)]
        struct FastOpt(#[serde(serialize_with = "ser_opt_ts")] Option<Timestamp>);
        let base = epoch_for_tests();
        let mut nanos = 1u32;
        for step in 0..200i64 {
            let t = base
                + TimeDelta::seconds(step * 7_919_311)
                + TimeDelta::nanoseconds(i64::from(nanos % 1_000_000_000));
            for t in [
                t,
                t.with_nanosecond(0).unwrap(),
                t.with_nanosecond(nanos % 1000 * 1_000_000).unwrap(),
            ] {
                let chrono = serde_json::to_string(&t).unwrap();
                assert_eq!(serde_json::to_string(&Fast(t)).unwrap(), chrono);
                assert_eq!(serde_json::to_string(&FastOpt(Some(t))).unwrap(), chrono);
            }
            nanos = nanos.wrapping_mul(48_271).wrapping_add(11);
        }
        assert_eq!(serde_json::to_string(&FastOpt(None)).unwrap(), "null");
    }
}
