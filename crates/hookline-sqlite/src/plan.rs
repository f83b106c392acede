//! How a `q` is asked of the full-text indexes: as the needle's whole phrase, or as
//! candidates (from a few of its rarest trigrams, or of its word-boundary grams) checked
//! exactly with `instr()`.
//!
//! An FTS5 phrase query reads the position list of every trigram of the needle in every
//! row holding all of them. A long needle is many trigrams, and in text drawn from a small
//! vocabulary every one of them is common: at a million rows a four-word phrase matching
//! 0.04% of rows read ~28 trigram lists of 25–60% of the rows each (115–175 ms). A few of
//! its trigrams (the ones spanning two words are much rarer than the ones inside a word),
//! asked as a `NEAR` group as wide as they lie apart in the needle, narrow the rows to a
//! few hundred or thousand candidates (at a million rows, 1,479 for that phrase against
//! 10,676 for the same trigrams ANDed), and checking a candidate's text costs one rowid
//! lookup. Those trigrams still cost their lists, 17–34% of the rows each in such text
//! (~25 ms for that phrase); a needle with a space inside has word-boundary grams
//! (`grams.rs`), about as rare as the word pairs they span, and a few of them ANDed leave
//! about as many candidates as the needle has matches, from lists of ~7% of the rows.
//!
//! Which trigrams or grams, and whether candidates beat the phrase, is estimated from a sample of
//! the newest rows' texts kept in memory (the trigram's rows in the sample stand for its
//! rows in the index: FTS5's own document counts cost a read of the term's whole list).
//! The estimate only chooses the plan; the answer is exact either way (the phrase is an
//! exact substring match, candidates are checked with `instr()`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::grams;

/// Rows of text in a sample.
const SAMPLE_ROWS: i64 = 2_000;

/// Cost of one row of a trigram's list read by FTS5 (roughly 15 ns), the unit of the
/// estimates below.
const LIST_ROW: u64 = 1;

/// Cost of checking one candidate: a rowid lookup in `messages` and `instr()` (roughly
/// 2 µs, measured against [`LIST_ROW`] at a million rows).
const CANDIDATE: u64 = 130;

/// Most trigrams ANDed for candidates: each one more is another list to skip through.
const MAX_TERMS: usize = 4;

/// The full-text index a [`TextSearch`] asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FtsIndex {
    /// `messages_fts`, the needle's trigrams.
    Trigrams,
    /// `messages_grams`, the needle's word-boundary grams (`grams.rs`).
    Grams,
}

impl FtsIndex {
    /// The FTS5 table, in the index file (attached as `ix`).
    pub(crate) fn table(self) -> &'static str {
        match self {
            FtsIndex::Trigrams => "messages_fts",
            FtsIndex::Grams => "messages_grams",
        }
    }
}

/// How a needle of three characters or more is asked of the full-text indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextSearch {
    /// The index asked.
    pub(crate) index: FtsIndex,
    /// The FTS5 query.
    pub(crate) fts: String,
    /// Whether the query's matches are exactly the rows containing the needle (the whole
    /// phrase); if not, they are candidates to check with `instr()`.
    pub(crate) exact: bool,
    /// The estimated cost of running it over the whole index, in rowid lookups (the unit
    /// of a walk of the list order that tests each row); 0 when not estimated.
    pub(crate) lookups: u64,
    /// The estimated rows containing the needle (its share of the sample, scaled to the
    /// table); `u64::MAX` when not estimated.
    pub(crate) matches: u64,
}

/// One FTS5 term (a trigram, a phrase or a gram token), quoted.
pub(crate) fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The phrase query of a needle: consecutive trigrams, an exact substring match.
pub(crate) fn phrase(needle: &str) -> TextSearch {
    TextSearch {
        index: FtsIndex::Trigrams,
        fts: quoted(needle),
        exact: true,
        lookups: 0,
        matches: u64::MAX,
    }
}

/// The distinct trigrams (three consecutive characters) of `text`, as the `trigram`
/// tokenizer with `case_sensitive 1` makes them.
fn trigrams(text: &str) -> Vec<&str> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let mut out: Vec<&str> = bounds
        .windows(4)
        .filter_map(|w| text.get(w[0]..w[3]))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Texts of the newest rows, by trigram: for each trigram, the (ascending) indexes of the
/// sample rows that contain it.
#[derive(Debug, Default)]
struct Sample {
    rows: u64,
    /// The sampled texts, in sample-row order.
    texts: Vec<String>,
    /// The largest rowid when it was taken.
    upto: i64,
    postings: HashMap<u128, Vec<u32>>,
}

/// A trigram (at most 12 bytes of UTF-8) as a map key: its bytes, then its length.
fn key(trigram: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = trigram.len().min(12);
    bytes[..n].copy_from_slice(&trigram.as_bytes()[..n]);
    bytes[15] = n as u8;
    u128::from_le_bytes(bytes)
}

impl Sample {
    fn take(conn: &Connection, last: i64) -> rusqlite::Result<Sample> {
        let mut stmt = conn.prepare_cached(
            "SELECT coalesce(text_folded, text) FROM messages
             WHERE rowid > ?1 AND text IS NOT NULL",
        )?;
        let mut rows = stmt.query([last - SAMPLE_ROWS])?;
        let mut postings: HashMap<u128, Vec<u32>> = HashMap::new();
        let mut n: u32 = 0;
        let mut texts = Vec::new();
        while let Some(row) = rows.next()? {
            let text: rusqlite::types::ValueRef<'_> = row.get_ref(0)?;
            let Ok(text) = text.as_str() else { continue };
            texts.push(text.to_owned());
            for t in trigrams(text) {
                postings.entry(key(t)).or_default().push(n);
            }
            n += 1;
        }
        Ok(Sample {
            rows: u64::from(n),
            upto: last,
            texts,
            postings,
        })
    }

    /// How many of the sample rows `rows` have a text that `keep` accepts.
    fn count_texts(&self, rows: &[u32], keep: impl Fn(&str) -> bool) -> u64 {
        rows.iter()
            .filter(|&&i| self.texts.get(i as usize).is_some_and(|text| keep(text)))
            .count() as u64
    }

    fn rows_with(&self, trigram: &str) -> &[u32] {
        self.postings.get(&key(trigram)).map_or(&[], Vec::as_slice)
    }

    /// The sample rows whose text contains `part` (three characters or more): the rows
    /// holding all its trigrams, checked.
    fn rows_containing(&self, part: &str) -> Vec<u32> {
        let grams = trigrams(part);
        let Some((first, rest)) = grams.split_first() else {
            return Vec::new();
        };
        let mut rows = self.rows_with(first).to_vec();
        for t in rest {
            rows = intersect(&rows, self.rows_with(t));
        }
        rows.retain(|&i| self.texts.get(i as usize).is_some_and(|t| t.contains(part)));
        rows
    }
}

/// The sample a store plans with, retaken once the table has grown by a tenth (or by a
/// sample's worth of rows, whichever is more) since it was taken.
#[derive(Debug, Default)]
pub(crate) struct SampleCache {
    sample: Mutex<Option<Arc<Sample>>>,
}

impl SampleCache {
    fn get(&self, conn: &Connection) -> rusqlite::Result<Arc<Sample>> {
        let last: i64 = conn
            .prepare_cached("SELECT coalesce(max(rowid), 0) FROM messages")?
            .query_row([], |r| r.get(0))?;
        if let Ok(kept) = self.sample.lock()
            && let Some(sample) = kept.as_ref()
            && sample.upto <= last
            && last - sample.upto <= (sample.upto / 10).max(SAMPLE_ROWS)
        {
            return Ok(Arc::clone(sample));
        }
        let sample = Arc::new(Sample::take(conn, last)?);
        if let Ok(mut kept) = self.sample.lock() {
            *kept = Some(Arc::clone(&sample));
        }
        Ok(sample)
    }
}

/// The plan of one needle, worked out on first use (a read whose count is kept and whose
/// page walks the list order never needs it).
pub(crate) struct Planner<'a> {
    needle: &'a str,
    samples: &'a SampleCache,
    planned: std::cell::OnceCell<TextSearch>,
}

impl<'a> Planner<'a> {
    /// A planner for a folded needle; `None` below three characters (no trigram: such a
    /// needle is searched by scanning).
    pub(crate) fn new(needle: &'a str, samples: &'a SampleCache) -> Option<Planner<'a>> {
        (needle.chars().count() >= 3).then(|| Planner {
            needle,
            samples,
            planned: std::cell::OnceCell::new(),
        })
    }

    /// The plan, worked out now if it was not yet.
    pub(crate) fn get(&self, conn: &Connection) -> rusqlite::Result<&TextSearch> {
        if let Some(planned) = self.planned.get() {
            return Ok(planned);
        }
        let planned = plan(conn, self.needle, self.samples)?;
        Ok(self.planned.get_or_init(|| planned))
    }
}

/// The sorted intersection of two ascending lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The cheaper way to ask for `needle` (three characters or more), by the estimate of
/// the sample: the phrase, or candidates from up to [`MAX_TERMS`] of its trigrams, chosen
/// greedily (rarest first, then whichever narrows the candidates most) while each one
/// lowers the estimated cost.
fn plan(conn: &Connection, needle: &str, samples: &SampleCache) -> rusqlite::Result<TextSearch> {
    let tris = trigrams(needle);
    if tris.len() <= 1 {
        return Ok(phrase(needle));
    }
    let sample = samples.get(conn)?;
    if sample.rows == 0 {
        return Ok(phrase(needle));
    }
    // The phrase reads every trigram's list (and positions where all of them meet).
    let phrase_cost: u64 = tris
        .iter()
        .map(|t| sample.rows_with(t).len() as u64 * LIST_ROW)
        .sum();
    let Some(Candidates {
        chosen,
        rows: candidates,
        read,
        mut cost,
    }) = Candidates::choose(tris.iter().map(|&t| (t, sample.rows_with(t))).collect())
    else {
        return Ok(phrase(needle));
    };
    // The candidates are asked as a `NEAR` group: in a row holding the needle, the chosen
    // trigrams stand at their offsets within it, no further apart than in the needle, and
    // a row where they are further apart cannot hold it. In a small vocabulary that
    // narrows the candidates several times over the plain AND, at the same list reads.
    let (near, width) = near_query(needle, &chosen);
    if let Some(width) = width {
        let narrowed = sample.count_texts(&candidates, |text| within(text, &chosen, width));
        cost = read + narrowed * CANDIDATE;
    }
    let in_sample = sample.rows_containing(needle).len() as u64;
    let table_rows = u64::try_from(sample.upto).unwrap_or(0).max(sample.rows);
    let matches = in_sample * table_rows / sample.rows;
    // From sample rows to the whole table, and from list rows to lookups.
    let lookups = |cost: u64| {
        let scaled = u128::from(cost) * u128::from(table_rows) / u128::from(sample.rows);
        u64::try_from(scaled / u128::from(CANDIDATE)).unwrap_or(u64::MAX)
    };
    let by_grams = gram_candidates(&sample, needle);
    let best = phrase_cost
        .min(cost)
        .min(by_grams.as_ref().map_or(u64::MAX, |g| g.0));
    if let Some((gram_cost, fts)) = by_grams
        && gram_cost == best
        && best < phrase_cost
    {
        return Ok(TextSearch {
            index: FtsIndex::Grams,
            fts,
            exact: false,
            lookups: lookups(gram_cost),
            matches,
        });
    }
    if cost >= phrase_cost {
        return Ok(TextSearch {
            lookups: lookups(phrase_cost),
            matches,
            ..phrase(needle)
        });
    }
    Ok(TextSearch {
        index: FtsIndex::Trigrams,
        fts: near,
        exact: false,
        lookups: lookups(cost),
        matches,
    })
}

/// The candidates plan on `messages_grams`, when the needle has grams (`grams.rs`): its
/// estimated cost (in sample units, as [`plan`]'s) and its FTS5 query, up to
/// [`MAX_TERMS`] of its grams ANDed, chosen like the trigrams (rarest first, then
/// whichever narrows the candidates most, while each one lowers the cost).
fn gram_candidates(sample: &Sample, needle: &str) -> Option<(u64, String)> {
    let grams: Vec<(&str, Vec<u32>)> = grams::grams(needle)
        .into_iter()
        .map(|g| (g, sample.rows_containing(g)))
        .collect();
    let chosen = Candidates::choose(
        grams
            .iter()
            .map(|(g, rows)| (*g, rows.as_slice()))
            .collect(),
    )?;
    let fts = chosen
        .chosen
        .iter()
        .map(|g| quoted(&grams::token(g)))
        .collect::<Vec<_>>()
        .join(" AND ");
    Some((chosen.cost, fts))
}

/// Terms (trigrams or grams) asked together for candidates, and what the sample expects
/// of them.
struct Candidates<'a> {
    /// The terms, rarest first.
    chosen: Vec<&'a str>,
    /// The sample rows holding every one of them.
    rows: Vec<u32>,
    /// The list rows read, in [`LIST_ROW`]s.
    read: u64,
    /// `read` and the candidates' checks, in [`LIST_ROW`]s.
    cost: u64,
}

impl<'a> Candidates<'a> {
    /// Up to [`MAX_TERMS`] of `terms` (each with its sample rows), chosen greedily: the
    /// rarest first, then whichever narrows the candidates most, while each one lowers
    /// the estimated cost. `None` without terms.
    fn choose(mut left: Vec<(&'a str, &[u32])>) -> Option<Candidates<'a>> {
        left.sort_by_key(|(_, rows)| rows.len());
        if left.is_empty() {
            return None;
        }
        let (first, rows) = left.remove(0);
        let read = rows.len() as u64 * LIST_ROW;
        let mut out = Candidates {
            chosen: vec![first],
            rows: rows.to_vec(),
            read,
            cost: read + rows.len() as u64 * CANDIDATE,
        };
        while out.chosen.len() < MAX_TERMS && !out.rows.is_empty() && !left.is_empty() {
            let best = left
                .iter()
                .enumerate()
                .map(|(i, (_, rows))| {
                    let narrowed = intersect(&out.rows, rows);
                    let c =
                        out.read + rows.len() as u64 * LIST_ROW + narrowed.len() as u64 * CANDIDATE;
                    (c, i, narrowed)
                })
                .min_by_key(|(c, i, _)| (*c, *i));
            let Some((c, i, narrowed)) = best else { break };
            if c >= out.cost {
                break;
            }
            let (term, rows) = left.remove(i);
            out.read += rows.len() as u64 * LIST_ROW;
            out.chosen.push(term);
            out.rows = narrowed;
            out.cost = c;
        }
        Some(out)
    }
}

/// The character offset of the first occurrence of `part` in `text`.
fn char_offset(text: &str, part: &str) -> Option<usize> {
    text.find(part).map(|at| text[..at].chars().count())
}

/// The FTS5 query of candidates holding every trigram of `chosen` (each one of the
/// needle's): one trigram alone, else a `NEAR` group as wide as the chosen trigrams' first
/// occurrences in the needle lie apart, with that width (in characters, the trigram
/// tokenizer's positions: last offset minus first).
///
/// FTS5 counts a group's `N` as the tokens between its first and last instances, so a
/// width of `w` is `NEAR(…, w - 1)`. A row holding the needle holds the chosen trigrams at
/// exactly those offsets, so it always matches; the caller checks every candidate.
fn near_query(needle: &str, chosen: &[&str]) -> (String, Option<usize>) {
    let offsets: Vec<usize> = chosen
        .iter()
        .filter_map(|t| char_offset(needle, t))
        .collect();
    let (Some(lo), Some(hi)) = (offsets.iter().min(), offsets.iter().max()) else {
        return (String::new(), None);
    };
    let terms = chosen.iter().map(|t| quoted(t)).collect::<Vec<_>>();
    if chosen.len() < 2 || offsets.len() != chosen.len() || hi == lo {
        return (terms.join(" AND "), None);
    }
    let width = hi - lo;
    (
        format!("NEAR({}, {})", terms.join(" "), width - 1),
        Some(width),
    )
}

/// Whether `text` holds every trigram of `chosen` within `width` characters of each other
/// (what `NEAR` matches, see [`near_query`]).
fn within(text: &str, chosen: &[&str], width: usize) -> bool {
    let starts: Vec<Vec<usize>> = chosen
        .iter()
        .map(|t| {
            text.char_indices()
                .enumerate()
                .filter(|(_, (at, _))| text[*at..].starts_with(t))
                .map(|(n, _)| n)
                .collect()
        })
        .collect();
    starts.first().is_some_and(|first| {
        first
            .iter()
            .chain(starts.iter().skip(1).flatten())
            .any(|&lo| {
                starts
                    .iter()
                    .all(|at| at.iter().any(|&p| p >= lo && p <= lo + width))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_are_distinct_character_triples() {
        assert_eq!(trigrams("abcab"), vec!["abc", "bca", "cab"]);
        assert_eq!(trigrams("ab"), Vec::<&str>::new());
        assert_eq!(trigrams("éaé"), vec!["éaé"]);
        assert_eq!(trigrams("aaaa"), vec!["aaa"]);
    }

    #[test]
    fn a_quote_is_doubled_in_a_trigram_query() {
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn a_rare_phrase_of_common_trigrams_is_asked_as_candidates() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE messages (text TEXT, text_folded TEXT)")?;
        let words = ["please", "call", "tomorrow", "invoice", "hello", "status"];
        let mut state = 3_u64;
        for _ in 0..3_000 {
            let text: Vec<&str> = (0..8)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    words[usize::try_from((state >> 33) % 6).unwrap_or(0)]
                })
                .collect();
            // Words between spaces, and (in every other row) between hyphens.
            let sep = if state.is_multiple_of(2) { " " } else { "-" };
            conn.execute("INSERT INTO messages (text) VALUES (?1)", [text.join(sep)])?;
        }
        let samples = SampleCache::default();
        // Whole words on both sides of a space: candidates from the word-boundary grams.
        let rare = plan(&conn, "please call tomorrow invoice", &samples)?;
        assert!(!rare.exact, "{rare:?}");
        assert_eq!(rare.index, FtsIndex::Grams, "{rare:?}");
        assert!(
            rare.fts.contains(&quoted(&grams::token("all tom"))),
            "{rare:?}"
        );
        // No space, so no gram: candidates from a `NEAR` group of trigrams.
        let hyphens = plan(&conn, "please-call-tomorrow-invoice", &samples)?;
        assert!(!hyphens.exact, "{hyphens:?}");
        assert_eq!(hyphens.index, FtsIndex::Trigrams, "{hyphens:?}");
        assert!(hyphens.fts.starts_with("NEAR("), "{hyphens:?}");
        let common = plan(&conn, "tomorrow", &samples)?;
        assert_eq!(common.fts, "\"tomorrow\"");
        assert!(common.exact);
        assert_eq!(common.index, FtsIndex::Trigrams);
        let absent = plan(&conn, "kumquat", &samples)?;
        assert_eq!(absent.lookups, 0, "{absent:?}");
        Ok(())
    }

    #[test]
    fn a_near_group_is_as_wide_as_the_needle_places_its_trigrams() {
        // "e c" at 5, "l t" at 10, "w i" at 19: 13 tokens lie between the first and last.
        let needle = "please call tomorrow invoice";
        assert_eq!(
            near_query(needle, &["w i", "e c", "l t"]),
            ("NEAR(\"w i\" \"e c\" \"l t\", 13)".to_owned(), Some(14))
        );
        assert_eq!(near_query(needle, &["w i"]), ("\"w i\"".to_owned(), None));
        // Characters, not bytes: "é" is two bytes, one position.
        assert_eq!(near_query("éab cd", &["éab", "b c"]).1, Some(2));
        assert!(within(needle, &["w i", "e c", "l t"], 14));
        assert!(!within(needle, &["w i", "e c", "l t"], 13));
        // Either order, as NEAR: "w i" at 7, "e c" at 15.
        assert!(within("tomorrow invoice call", &["e c", "w i"], 14));
        assert!(!within("please call invoice", &["e c", "w i"], 14));
        // Overlapping occurrences count: "aaa" starts at 0 and 1 in "aaaab".
        assert!(within("aaaab", &["aaa", "aab"], 1));
    }

    #[test]
    fn intersect_keeps_common_rows() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[2, 3, 7, 9]), vec![3, 7]);
    }
}
