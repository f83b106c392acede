//! An in-memory store built directly on the reference semantics.
