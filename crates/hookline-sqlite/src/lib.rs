//! hookline-sqlite
