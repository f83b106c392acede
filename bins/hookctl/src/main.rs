//! `hookctl` — the operator's command-line companion to the hookline server.
//!
//! # Why this binary exists
//!
//! Operators of webhook services need to sign a test message, or push one through a running
//! deployment, without writing a script each time. `hookctl` does exactly that and no more,
//! and it is deliberately thin: what a valid message is comes from [`hookline_domain`], and
//! what a valid signature is comes from [`hookline_signature`] — the very code the server
//! runs — so the client can never drift from the server's idea of either.
//!
//! # Subcommands
//!
//! - `hookctl sign` reads a body from stdin and prints its lower-case hex HMAC-SHA256 under the
//!   secret in `WEBHOOK_SECRET` (the value of the `X-Signature` header), and nothing else.
//! - `hookctl send` builds one message, validates it like the server would, signs it and POSTs
//!   it to `/webhook`, then prints the response's status line and body. With `--whatsapp` it
//!   sends the message inside a WhatsApp Cloud API envelope to `/webhook/whatsapp`, signed
//!   with `X-Hub-Signature-256` under `WHATSAPP_APP_SECRET`, as Meta would.
//! - `hookctl copy --from sqlite:///… --to postgres://…` copies every message from one store
//!   to another through the `MessageStore` trait (idempotent, resumable, count-checked).
//!
//! Each subcommand is a variant of [`Command`] with its own module; adding one (a load
//! generator, say) means a new variant, a new module and one arm in [`run`].
//!
//! # Exit codes
//!
//! - `0`: success (for `send`, the server answered 2xx);
//! - `1`: the request failed, or the server answered with a non-2xx status;
//! - `2`: usage or configuration error (missing secret, invalid message, bad URL), as clap
//!   does for bad arguments.

mod copy;
mod error;
mod secret;
mod send;
mod sign;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// The command line of `hookctl`.
#[derive(Debug, Parser)]
#[command(
    name = "hookctl",
    version,
    about = "Sign and send hookline webhooks; copy between stores"
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands of `hookctl`, one module each.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print the hex HMAC-SHA256 signature of stdin (the `X-Signature` value).
    Sign(sign::SignArgs),
    /// Build, validate, sign and POST one message; print the status and body.
    Send(send::SendArgs),
    /// Copy every message from one store to another (e.g. SQLite into PostgreSQL).
    Copy(copy::CopyArgs),
}

/// Runs one parsed command line.
fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Sign(args) => sign::run(&args),
        Command::Send(args) => send::run(&args),
        Command::Copy(args) => copy::run(&args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("hookctl: {error}");
            error.exit_code()
        }
    }
}
