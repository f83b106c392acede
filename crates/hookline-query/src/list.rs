//! The list query: filters, page size and where the page starts; and the page it yields.

use hookline_domain::{FieldError, Instant};
use serde::Serialize;

use crate::{Cursor, QueryError};

/// `limit` when the client sends none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The smallest `limit` a client may ask for.
pub const MIN_LIMIT: u32 = 1;
/// The largest `limit` a client may ask for.
pub const MAX_LIMIT: u32 = 100;
/// The smallest `offset`, and the one used when the client sends none.
pub const MIN_OFFSET: u64 = 0;
/// The largest `offset` a backend must address (`i64::MAX`, SQLite's integer range).
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// Folds text for the case-insensitive `q` match: Unicode lower-casing (`str::to_lowercase`),
/// so `élan` matches `Élan`. Both the text and the needle are folded the same way.
pub fn fold_case(s: &str) -> String {
    s.to_lowercase()
}

/// Which rows a query selects. Every `None` means "no restriction".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Exact sender (after the leading-space repair); not required to be valid E.164 — a
    /// value that is not simply matches nothing.
    pub from: Option<String>,
    /// Rows whose `ts` instant is at or after this instant.
    pub since: Option<Instant>,
    /// Case-insensitive substring of `text` as the client sent it (non-empty; an empty
    /// string is treated as no restriction); rows without text never match a non-empty `q`.
    /// Compare with [`Filter::q_folded`].
    pub q: Option<String>,
}

impl Filter {
    /// `q` folded with [`fold_case`], ready to compare against folded text; `None` when `q`
    /// is absent or empty.
    pub fn q_folded(&self) -> Option<String> {
        self.q.as_deref().filter(|q| !q.is_empty()).map(fold_case)
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many matching rows.
    Offset(u64),
    /// Start right after the row the cursor names.
    After(Cursor),
}

/// A validated `GET /messages` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    filter: Filter,
    limit: u32,
    start: PageStart,
}

impl ListQuery {
    /// Builds a query, checking `limit` (1..=100) and `offset` (0..=i64::MAX).
    pub fn new(filter: Filter, limit: u32, start: PageStart) -> Result<Self, QueryError> {
        if !(MIN_LIMIT..=MAX_LIMIT).contains(&limit) {
            return Err(QueryError::LimitOutOfRange { max: MAX_LIMIT });
        }
        if let PageStart::Offset(o) = start
            && o > MAX_OFFSET
        {
            return Err(QueryError::OffsetOutOfRange { max: MAX_OFFSET });
        }
        Ok(Self {
            filter,
            limit,
            start,
        })
    }

    /// The first page (offset 0) of `filter` with `limit` rows.
    pub fn first_page(filter: Filter, limit: u32) -> Result<Self, QueryError> {
        Self::new(filter, limit, PageStart::Offset(0))
    }

    /// The query for the page after `cursor`, with the same filters and limit as `self`.
    pub fn after(&self, cursor: Cursor) -> Self {
        Self {
            filter: self.filter.clone(),
            limit: self.limit,
            start: PageStart::After(cursor),
        }
    }

    /// Parses decoded query parameters (`limit`, `offset`, `from`, `since`, `q`, `cursor`;
    /// others are ignored; the last of repeated keys wins) as docs/API.md says, reporting every
    /// problem at once with `loc` = `["query", name]`.
    ///
    /// - `limit` (default 50) and `offset` (default 0) are integers as pydantic reads them
    ///   (surrounding whitespace, a sign, `_` between digits and a `.0` tail are accepted);
    /// - `from`: a leading space is read as `+` (an unencoded `+` arrives as a space); empty
    ///   means no filter;
    /// - `since`: RFC 3339 with any offset, an offset whose `+` arrived as a space repaired;
    /// - `q` and `cursor`: empty means absent;
    /// - a cursor together with `offset > 0` is an error at `["query", "cursor"]`.
    pub fn parse<'a, I>(params: I) -> Result<Self, Vec<FieldError>>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        crate::params::parse(params)
    }

    /// The filters.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Page size, 1..=100.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Where the page starts.
    pub fn start(&self) -> &PageStart {
        &self.start
    }

    /// The offset to echo in the page: the offset asked for, or 0 for a cursor page.
    pub fn offset(&self) -> u64 {
        match self.start {
            PageStart::Offset(o) => o,
            PageStart::After(_) => 0,
        }
    }
}

/// One page of a list: the `GET /messages` response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The rows of this page, in order.
    pub data: Vec<T>,
    /// How many rows match the filters, ignoring paging.
    pub total: u64,
    /// The page size asked for.
    pub limit: u32,
    /// The offset asked for (0 for a cursor page).
    pub offset: u64,
    /// An encoded [`Cursor`] after the last row of `data` when more matching rows follow it;
    /// otherwise `None`.
    pub next_cursor: Option<String>,
}
