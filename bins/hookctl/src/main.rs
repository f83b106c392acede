//! hookctl
fn main() {}
