//! Black-box tests of the `hookline` binary: each starts the compiled server as a process on
//! its own port with a fresh database and checks one clause of docs/API.md over real HTTP.
//! One test binary for all areas, so it compiles once.

mod config;
mod evaluation_flow;
mod external_tools;
mod health;
#[path = "../harness/mod.rs"]
mod helpers;
mod lifecycle;
mod logs;
mod messages;
mod metrics;
mod openapi;
mod read_token;
mod request_id;
mod stats;
mod storage;
mod webhook;
mod whatsapp;
