//! The conformance suite every [`MessageStore`] backend runs.
//!
//! A backend's test file hands the suite a factory of fresh, empty stores, wrapped in a
//! [`Subject`]; [`conformance_tests!`] turns every check into a `#[test]`:
//!
//! ```ignore
//! fn make_store() -> Subject { Subject::new(MyStore::open_fresh()) }
//! hookline_store_conformance::conformance_tests!(make_store);
//! ```
//!
//! The checks call the store through the same async [`MessageStore`] methods the server
//! awaits — there is no second, synchronous path to keep in step. A [`Subject`] runs each
//! call to completion on one shared multi-threaded tokio runtime, so the checks themselves
//! stay plain functions and the concurrency checks race real OS threads against the store.
//!
//! Each check panics on the first broken promise. The property checks
//! ([`prop_lists_and_stats_match_reference`], [`prop_cursor_walk_equals_offset_walk`]) run
//! [`DEFAULT_CASES`] random cases, or as many as the `PROPTEST_CASES` environment variable
//! says, with a fresh store per case.
//!
//! This is its own crate, not a module of `hookline-store`, so that `proptest` and the
//! runtime stay out of the server's dependency tree: backends take it as a dev-dependency.

mod checks;
mod fixtures;
mod properties;

use std::any::Any;
use std::sync::{Arc, OnceLock};

use hookline_domain::Message;
use hookline_query::{ListQuery, Page, Stats};
use hookline_store::{Inserted, MessageStore, StoreError};

pub use checks::*;
pub use fixtures::{all_rows, message, stored};
pub use properties::{
    DEFAULT_CASES, QuerySpec, arb_filter, arb_messages, arb_query,
    prop_cursor_walk_equals_offset_walk, prop_lists_and_stats_match_reference,
};

/// The store under test, and whatever must live as long as it (a temporary folder, a
/// database to drop). Its methods are the store's, run to completion on the suite's runtime.
pub struct Subject {
    // Declared first, so the store is dropped (and shut down) before what it lives in.
    store: Arc<dyn MessageStore>,
    _keep: Option<Box<dyn Any + Send + Sync>>,
}

impl Subject {
    /// A store with nothing else to keep alive.
    pub fn new(store: impl MessageStore + 'static) -> Self {
        Self {
            store: Arc::new(store),
            _keep: None,
        }
    }

    /// Keeps `guard` alive until after the store is dropped (e.g. the `TempDir` holding the
    /// database file).
    pub fn keeping(mut self, guard: impl Any + Send + Sync) -> Self {
        self._keep = Some(Box::new(guard));
        self
    }

    /// The store itself, for checks of a backend's own.
    pub fn store(&self) -> &Arc<dyn MessageStore> {
        &self.store
    }

    /// [`MessageStore::insert`], awaited.
    pub fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        runtime().block_on(self.store.insert(message))
    }

    /// [`MessageStore::list`], awaited.
    pub fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        runtime().block_on(self.store.list(query))
    }

    /// [`MessageStore::stats`], awaited.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        runtime().block_on(self.store.stats())
    }

    /// [`MessageStore::check_ready`], awaited.
    pub fn check_ready(&self) -> Result<(), StoreError> {
        runtime().block_on(self.store.check_ready())
    }
}

/// The runtime every [`Subject`] call runs on: multi-threaded, like the server's, so a
/// backend's blocking pool and timers are there.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("conformance")
            .build()
            .unwrap_or_else(|e| panic!("cannot start the conformance runtime: {e}"))
    })
}

/// Expands into one `#[test]` per conformance check, in a module named `conformance`.
///
/// `$factory` is a function (or closure) `fn() -> Subject` that returns a **fresh, empty**
/// store on every call. It is resolved inside the generated module, which glob-imports
/// the caller's module (`use super::*`), so a plain function name defined beside the macro
/// call works.
#[macro_export]
macro_rules! conformance_tests {

    ($factory:expr) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;

            $crate::conformance_tests!(@checks $factory;
                insert_then_list_returns_it,
                a_second_insert_is_a_duplicate,
                a_duplicate_never_changes_the_stored_row,
                totals_and_stats_follow_inserts,
                concurrent_inserts_of_one_id_create_exactly_once,
                concurrent_inserts_of_distinct_ids_all_land,
                long_ids_and_texts_round_trip,
                orders_by_instant_then_message_id,
                filters_by_sender,
                filters_since_with_any_offset,
                q_is_unicode_case_insensitive,
                q_treats_percent_and_underscore_literally,
                q_never_matches_null_text,
                filters_combine,
                stats_break_count_ties_by_sender,
                empty_store_has_null_stats_and_no_rows,
                offset_pages_echo_and_count,
                cursor_walk_equals_offset_walk,
                cursor_stays_valid_while_rows_are_added,
                a_fresh_store_is_ready,
            );

            #[test]
            fn prop_lists_and_stats_match_reference() {
                $crate::prop_lists_and_stats_match_reference(&$factory);
            }

            #[test]
            fn prop_cursor_walk_equals_offset_walk() {
                $crate::prop_cursor_walk_equals_offset_walk(&$factory);
            }
        }
    };
    (@checks $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let store = ($factory)();
                $crate::$check(&store);
            }
        )*
    };
}
