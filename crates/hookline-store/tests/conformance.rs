//! The storage conformance suite against [`MemoryStore`], the reference-backed store.

use hookline_store::MemoryStore;

fn memory_store() -> MemoryStore {
    MemoryStore::new()
}

hookline_store::conformance_tests!(memory_store);
