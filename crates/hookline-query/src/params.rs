//! Raw query parameters → [`ListQuery`], with FastAPI-shaped errors at `["query", name]`.

use hookline_domain::{FieldError, Instant};

use crate::{
    Cursor, DEFAULT_LIMIT, Filter, ListQuery, MAX_LIMIT, MAX_OFFSET, MIN_LIMIT, MIN_OFFSET,
    PageStart,
};

/// The last value of each known key; unknown keys are dropped.
#[derive(Default)]
struct Raw<'a> {
    limit: Option<&'a str>,
    offset: Option<&'a str>,
    from: Option<&'a str>,
    since: Option<&'a str>,
    q: Option<&'a str>,
    cursor: Option<&'a str>,
}

impl<'a> Raw<'a> {
    fn collect<I: IntoIterator<Item = (&'a str, &'a str)>>(params: I) -> Self {
        let mut raw = Self::default();
        for (key, value) in params {
            let slot = match key {
                "limit" => &mut raw.limit,
                "offset" => &mut raw.offset,
                "from" => &mut raw.from,
                "since" => &mut raw.since,
                "q" => &mut raw.q,
                "cursor" => &mut raw.cursor,
                _ => continue,
            };
            *slot = Some(value);
        }
        raw
    }
}

pub(crate) fn parse<'a, I>(params: I) -> Result<ListQuery, Vec<FieldError>>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let raw = Raw::collect(params);
    let mut errors = Vec::new();

    let limit = raw.limit.map_or(Some(i128::from(DEFAULT_LIMIT)), |v| {
        bounded_int(
            v,
            "limit",
            i128::from(MIN_LIMIT),
            i128::from(MAX_LIMIT),
            &mut errors,
        )
    });
    let offset = raw.offset.map_or(Some(i128::from(MIN_OFFSET)), |v| {
        bounded_int(
            v,
            "offset",
            i128::from(MIN_OFFSET),
            i128::from(MAX_OFFSET),
            &mut errors,
        )
    });
    let from = raw.from.filter(|f| !f.is_empty()).map(repair_from);
    let since = raw.since.and_then(|v| match parse_since(v) {
        Some(instant) => Some(instant),
        None => {
            errors.push(FieldError::new(
                &["query", "since"],
                "Input should be a valid datetime, expected RFC 3339 such as \
                 2025-01-15T10:00:00Z or 2025-01-15T15:30:00+05:30",
                "datetime_parsing",
            ));
            None
        }
    });
    let q = raw.q.filter(|q| !q.is_empty()).map(str::to_owned);
    let cursor = raw.cursor.filter(|c| !c.is_empty()).and_then(|c| {
        Cursor::decode(c)
            .map_err(|_| errors.push(cursor_error("Value error, invalid cursor")))
            .ok()
    });
    if raw.cursor.is_some_and(|c| !c.is_empty()) && offset.is_some_and(|o| o > 0) {
        errors.push(cursor_error(
            "Value error, cursor cannot be combined with offset",
        ));
    }

    let (Some(limit), Some(offset), true) = (limit, offset, errors.is_empty()) else {
        return Err(errors);
    };
    let start = match cursor {
        Some(c) => PageStart::After(c),
        None => PageStart::Offset(u64::try_from(offset).unwrap_or(u64::MAX)),
    };
    let filter = Filter { from, since, q };
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    // The bounds were checked above; a failure here would be a bug, reported as a 422 anyway.
    ListQuery::new(filter, limit, start)
        .map_err(|e| vec![FieldError::new(&["query"], e.to_string(), "value_error")])
}

fn cursor_error(msg: &str) -> FieldError {
    FieldError::new(&["query", "cursor"], msg, "value_error")
}

/// An unencoded `+` arrives as a space: a leading space in `from` is read as `+`.
fn repair_from(from: &str) -> String {
    match from.strip_prefix(' ') {
        Some(rest) => format!("+{rest}"),
        None => from.to_owned(),
    }
}

/// RFC 3339 with any offset; an offset written `… 05:30` (its `+` sent unencoded) is
/// repaired to `…+05:30`.
fn parse_since(value: &str) -> Option<Instant> {
    if let Ok(instant) = Instant::parse_rfc3339(value) {
        return Some(instant);
    }
    let (head, offset) = value.rsplit_once(' ')?;
    let b = offset.as_bytes();
    let is_offset =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    if !is_offset || head.is_empty() {
        return None;
    }
    Instant::parse_rfc3339(&format!("{head}+{offset}")).ok()
}

/// An integer in `min..=max`, or one pydantic-shaped error recorded at `["query", name]`.
fn bounded_int(
    value: &str,
    name: &str,
    min: i128,
    max: i128,
    errors: &mut Vec<FieldError>,
) -> Option<i128> {
    let loc = ["query", name];
    let Some(n) = parse_int(value) else {
        errors.push(FieldError::new(
            &loc,
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        ));
        return None;
    };
    if n < min {
        errors.push(FieldError::new(
            &loc,
            format!("Input should be greater than or equal to {min}"),
            "greater_than_equal",
        ));
        return None;
    }
    if n > max {
        errors.push(FieldError::new(
            &loc,
            format!("Input should be less than or equal to {max}"),
            "less_than_equal",
        ));
        return None;
    }
    Some(n)
}

/// Reads an integer the way pydantic's lax mode reads one from a string: surrounding
/// whitespace, an optional sign, ASCII digits with single `_` between them, and an optional
/// `.000…` tail. Magnitudes beyond `i128` saturate (they are out of every range anyway).
fn parse_int(value: &str) -> Option<i128> {
    let s = value.trim();
    let (negative, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let s = match s.split_once('.') {
        Some((int, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => int,
        Some(_) => return None,
        None => s,
    };
    let b = s.as_bytes();
    if b.is_empty() || b[0] == b'_' || b[b.len() - 1] == b'_' || s.contains("__") {
        return None;
    }
    let mut n: i128 = 0;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                n = n.saturating_mul(10).saturating_add(i128::from(c - b'0'));
            }
            b'_' => {}
            _ => return None,
        }
    }
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_integers_like_pydantic() {
        for (s, n) in [
            ("5", Some(5)),
            (" 5 ", Some(5)),
            ("+5", Some(5)),
            ("-1", Some(-1)),
            ("1_000", Some(1000)),
            ("7.0", Some(7)),
            ("007", Some(7)),
            ("", None),
            ("abc", None),
            ("1.5", None),
            ("1.", None),
            ("_1", None),
            ("1__0", None),
            ("1e3", None),
            ("٣", None),
            ("-", None),
            (
                "99999999999999999999999999999999999999999999",
                Some(i128::MAX),
            ),
        ] {
            assert_eq!(parse_int(s), n, "{s:?}");
        }
    }

    #[test]
    fn repairs_the_plus_of_an_offset() {
        let utc = Instant::parse_rfc3339("2025-01-15T10:00:00Z").ok();
        assert_eq!(parse_since("2025-01-15T15:30:00 05:30"), utc);
        assert_eq!(parse_since("2025-01-15T15:30:00+05:30"), utc);
        assert_eq!(parse_since("2025-01-15T02:00:00-08:00"), utc);
        assert_eq!(parse_since(" 05:30"), None);
        assert_eq!(parse_since("2025-01-15T15:30:00 5:30"), None);
        assert_eq!(parse_since(""), None);
    }
}
