//! Timestamps as sent ([`Timestamp`]) and instants for ordering ([`Instant`]).
//!
//! The contract stores and returns `ts` exactly as the client sent it, but orders and filters
//! by the instant it denotes: `…10:00:00.5Z` comes after `…10:00:00Z` although a string
//! comparison says otherwise. So a [`Timestamp`] carries both.

use std::fmt;

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::DomainError;

/// A point in time, compared as an instant (nanosecond precision) whatever offset it was
/// written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(OffsetDateTime);

impl Instant {
    /// Parses an RFC 3339 date-time with any UTC offset (`Z`, `+05:30`, `-08:00`).
    pub fn parse_rfc3339(s: &str) -> Result<Self, DomainError> {
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Self)
            .map_err(|_| DomainError::NotTimestamp)
    }

    /// Wraps an [`OffsetDateTime`].
    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        Self(t)
    }

    /// The instant as an [`OffsetDateTime`] (in the offset it was written with).
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    /// A fixed-width text key, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (30 bytes), whose byte order is
    /// the order of instants. Storage backends index it instead of the text as sent.
    ///
    /// Instants before year 0 map to a key below every valid timestamp's key, and instants
    /// after year 9999 to a key above every one, so comparisons against any [`Timestamp`]'s key
    /// stay correct (this only happens for a `since` whose offset crosses those bounds).
    pub fn sort_key(self) -> String {
        const BELOW_ALL: &str = "0000-00-00T00:00:00.000000000Z";
        const ABOVE_ALL: &str = "9999-99-99T99:99:99.999999999Z";
        let Some(t) = self.0.checked_to_offset(UtcOffset::UTC) else {
            // Only a year beyond ±9999 in UTC cannot be represented.
            return if self.0.year() < 0 {
                BELOW_ALL
            } else {
                ABOVE_ALL
            }
            .to_owned();
        };
        let year = t.year();
        if year < 0 {
            return BELOW_ALL.to_owned();
        }
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            year,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond()
        )
    }
}

/// A message timestamp: RFC 3339 in UTC ending in `Z` (`2025-01-15T10:00:00Z`, with an optional
/// fraction of 1 to 9 digits), on a real calendar date.
///
/// The text is kept exactly as sent ([`as_str`](Self::as_str)); ordering uses
/// [`instant`](Self::instant). Equality and ordering of `Timestamp` itself are by instant, then
/// by text, so two spellings of one instant are distinct but adjacent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    instant: Instant,
}

impl Timestamp {
    /// Parses a UTC timestamp of the shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    ///
    /// Rejected: other offsets, lower-case `t`/`z`, a space instead of `T`, leap seconds
    /// (`:60`), more than 9 fractional digits, and impossible dates such as `2025-02-29`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if !has_utc_shape(s.as_bytes()) {
            return Err(DomainError::NotUtcTimestamp);
        }
        let parsed =
            OffsetDateTime::parse(s, &Rfc3339).map_err(|_| DomainError::NotUtcTimestamp)?;
        Ok(Self {
            text: s.to_owned(),
            instant: Instant::from_offset_date_time(parsed),
        })
    }

    /// The latest Unix time (in seconds) a `Timestamp` can denote: `9999-12-31T23:59:59Z`.
    pub const MAX_UNIX_SECONDS: u64 = 253_402_300_799;

    /// The timestamp of a Unix time in whole seconds, written `YYYY-MM-DDTHH:MM:SSZ`
    /// (`1674727200` → `2023-01-26T10:00:00Z`). The text goes through [`Timestamp::parse`], so
    /// the result is exactly what a client could have sent.
    ///
    /// Fails with [`DomainError::UnixSecondsOutOfRange`] above [`Self::MAX_UNIX_SECONDS`].
    pub fn from_unix_seconds(seconds: u64) -> Result<Self, DomainError> {
        if seconds > Self::MAX_UNIX_SECONDS {
            return Err(DomainError::UnixSecondsOutOfRange);
        }
        let seconds = i64::try_from(seconds).map_err(|_| DomainError::UnixSecondsOutOfRange)?;
        let instant = OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|_| DomainError::UnixSecondsOutOfRange)?;
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            instant.year(),
            u8::from(instant.month()),
            instant.day(),
            instant.hour(),
            instant.minute(),
            instant.second()
        );
        Self::parse(&text)
    }

    /// The timestamp exactly as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant it denotes.
    pub fn instant(&self) -> Instant {
        self.instant
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.instant
            .cmp(&other.instant)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// The shape [`Timestamp::parse`] accepts, as a regular expression (the ECMA-262 subset JSON
/// Schema and OpenAPI use): `YYYY-MM-DDTHH:MM:SS` with months 01–12, days 01–31, hours
/// 00–23, minutes and seconds 00–59, an optional `.` and 1–9 digits, then `Z`. The calendar
/// (no February 30) is checked on top of it.
pub const UTC_TIMESTAMP_PATTERN: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$";

/// `YYYY-MM-DDTHH:MM:SS` then an optional `.` with 1–9 digits, then `Z`; seconds below 60.
/// The calendar itself is checked by the `time` crate.
fn has_utc_shape(b: &[u8]) -> bool {
    const DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if b.len() < 20 || b.len() > 30 {
        return false;
    }
    let fixed_ok = DIGITS.iter().all(|&i| b[i].is_ascii_digit())
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[17] < b'6';
    if !fixed_ok || b[b.len() - 1] != b'Z' {
        return false;
    }
    match &b[19..b.len() - 1] {
        [] => true,
        [b'.', fraction @ ..] => {
            (1..=9).contains(&fraction.len()) && fraction.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spec_examples() {
        for ok in [
            "2025-01-15T10:00:00Z",
            "2025-01-15T10:00:00.5Z",
            "2025-01-15T10:00:00.123456789Z",
            "2024-02-29T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let ts = Timestamp::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(ts.as_str(), ok);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "2025-02-29T00:00:00Z",
            "2025-02-30T10:00:00Z",
            "2025-13-01T10:00:00Z",
            "2025-01-15T24:00:00Z",
            "2025-01-15T10:60:00Z",
            "2025-01-15T23:59:60Z",
            "2025-01-15T10:00:00",
            "2025-01-15T10:00:00+00:00",
            "2025-01-15T10:00:00z",
            "2025-01-15t10:00:00Z",
            "2025-01-15 10:00:00Z",
            "2025-01-15T10:00:00.Z",
            "2025-01-15T10:00:00.1234567890Z",
            "2025-1-15T10:00:00Z",
            "２０２５-01-15T10:00:00Z",
            "2025-01-15T10:00:00ZZ",
        ] {
            assert_eq!(
                Timestamp::parse(bad),
                Err(DomainError::NotUtcTimestamp),
                "{bad}"
            );
        }
    }

    #[test]
    fn unix_seconds_render_as_whole_utc_seconds() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_674_727_200, "2023-01-26T10:00:00Z"),
            (1_709_251_200, "2024-03-01T00:00:00Z"),
            (Timestamp::MAX_UNIX_SECONDS, "9999-12-31T23:59:59Z"),
        ] {
            let ts = Timestamp::from_unix_seconds(seconds).unwrap();
            assert_eq!(ts.as_str(), text);
            assert_eq!(
                ts.instant().unix_nanos(),
                i128::from(seconds) * 1_000_000_000
            );
        }
        for too_late in [Timestamp::MAX_UNIX_SECONDS + 1, u64::MAX] {
            assert_eq!(
                Timestamp::from_unix_seconds(too_late),
                Err(DomainError::UnixSecondsOutOfRange)
            );
        }
    }

    #[test]
    fn fraction_sorts_after_whole_second() {
        let whole = Timestamp::parse("2025-01-15T10:00:00Z").unwrap();
        let half = Timestamp::parse("2025-01-15T10:00:00.5Z").unwrap();
        assert!(half.instant() > whole.instant());
        assert!(half > whole);
        // …and the string order disagrees, which is why instants exist.
        assert!(half.as_str() < whole.as_str());
        assert!(half.instant().sort_key() > whole.instant().sort_key());
    }

    #[test]
    fn since_accepts_any_offset_and_converts_to_utc() {
        let a = Instant::parse_rfc3339("2025-01-15T15:30:00+05:30").unwrap();
        let b = Instant::parse_rfc3339("2025-01-15T10:00:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sort_key(), "2025-01-15T10:00:00.000000000Z");
        assert!(Instant::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn sort_keys_outside_the_year_range_stay_ordered() {
        let low = Instant::parse_rfc3339("0000-01-01T00:00:00+01:00").unwrap();
        let high = Instant::parse_rfc3339("9999-12-31T23:59:59-01:00").unwrap();
        let first = Timestamp::parse("0000-01-01T00:00:00Z").unwrap();
        let last = Timestamp::parse("9999-12-31T23:59:59.999999999Z").unwrap();
        assert!(low.sort_key() < first.instant().sort_key());
        assert!(high.sort_key() > last.instant().sort_key());
    }
}
