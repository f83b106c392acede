//! Reliability and security tests of the real `hookline` binary: each test starts
//! the compiled server as a process on 127.0.0.1 and tries to break it — SIGKILL mid-write,
//! hostile bytes, a full disk, clients that trickle, SIGTERM under load, requests with no
//! `Host` header or two.
//!
//! Every loop here is bounded in count and in time (the machine is shared); each test prints
//! what it achieved with `eprintln!` (run with `--nocapture` to see the counts).

#[path = "../harness/mod.rs"]
mod harness;

mod crash_durability;
mod full_disk;
mod host_header;
mod hostile_input;
mod postgres_replicas;
mod raw_http;
mod server;
mod sigterm_under_load;
mod slow_clients;
