//! `hookctl sign`: the hex signature of stdin, and nothing else on stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::secret::{DEFAULT_SECRET_ENV, Secret};

/// Arguments of `hookctl sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Environment variable holding the secret (first entry of a comma-separated list).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SECRET_ENV)]
    secret_env: String,
}

/// Reads all of stdin, signs it exactly as received, prints the lower-case hex digest.
pub fn run(args: &SignArgs) -> Result<ExitCode, CliError> {
    let secret = Secret::from_env(&args.secret_env)?;
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(CliError::Stdin)?;
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (`hookctl sign | head -c0`) is not worth an error message.
    let _ = writeln!(stdout, "{}", secret.sign(&body));
    Ok(ExitCode::SUCCESS)
}
