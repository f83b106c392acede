//! The storage conformance suite against [`MemoryStore`], the reference-backed store.

use hookline_store::MemoryStore;
use hookline_store_conformance::Subject;

fn memory_store() -> Subject {
    Subject::new(MemoryStore::new())
}

hookline_store_conformance::conformance_tests!(memory_store);
