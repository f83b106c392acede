//! hookline server
fn main() {}
