//! hookline-signature
