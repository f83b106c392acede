//! The conformance suite every [`MessageStore`] backend runs.
//!
//! Each check is a public function that takes a store (a fresh, empty one) or a factory of
//! fresh empty stores, and panics on the first broken promise. [`conformance_tests!`] turns
//! them all into `#[test]`s in the caller's test file:
//!
//! ```ignore
//! fn make_store() -> MyStore { /* a fresh, empty store */ }
//! hookline_store::conformance_tests!(make_store);
//! ```
//!
//! The property checks ([`prop_lists_and_stats_match_reference`],
//! [`prop_cursor_walk_equals_offset_walk`]) run [`DEFAULT_CASES`] random cases, or as many as
//! the `PROPTEST_CASES` environment variable says, with a fresh store per case.
//!
//! [`MessageStore`]: crate::MessageStore
//! [`conformance_tests!`]: crate::conformance_tests

mod checks;
mod fixtures;
mod properties;

pub use checks::*;
pub use fixtures::{all_rows, message, stored};
pub use properties::{
    DEFAULT_CASES, QuerySpec, arb_filter, arb_messages, arb_query,
    prop_cursor_walk_equals_offset_walk, prop_lists_and_stats_match_reference,
};

/// Expands into one `#[test]` per conformance check, in a module named `conformance`.
///
/// `$factory` is a function (or closure) `fn() -> impl MessageStore` that returns a **fresh,
/// empty** store on every call. It is resolved inside the generated module, which glob-imports
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
                $crate::conformance::prop_lists_and_stats_match_reference(&$factory);
            }

            #[test]
            fn prop_cursor_walk_equals_offset_walk() {
                $crate::conformance::prop_cursor_walk_equals_offset_walk(&$factory);
            }
        }
    };
    (@checks $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let store = ($factory)();
                $crate::conformance::$check(&store);
            }
        )*
    };
}
