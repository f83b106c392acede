//! The conformance suite every `MessageStore` backend runs.
