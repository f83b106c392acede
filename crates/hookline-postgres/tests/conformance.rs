//! The shared conformance suite of `hookline-store-conformance`, unchanged, run against a
//! real PostgreSQL (`HOOKLINE_TEST_POSTGRES_URL`): every subject gets its own schema,
//! dropped with it.

use hookline_postgres::testing::{TestSchema, test_url};
use hookline_postgres::{PostgresConfig, PostgresStore};
use hookline_store_conformance::Subject;

/// A fresh, empty store in a schema of its own, configured as the server does.
fn fresh_store() -> Subject {
    let Some(url) = test_url() else {
        // Skipping (HOOKLINE_SKIP_POSTGRES=1, already printed): end this test binary
        // without running any check against anything else.
        std::process::exit(0);
    };
    let schema = TestSchema::create(&url);
    let config = PostgresConfig::from_url(schema.url()).expect("test URL parses");
    let store = PostgresStore::open(&config).expect("open store");
    Subject::new(store).keeping(schema)
}

hookline_store_conformance::conformance_tests!(fresh_store);
