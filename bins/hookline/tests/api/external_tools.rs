//! Tests that need a program from outside the repository (`python3`, `promtool`; `make
//! tools` installs both). When one cannot be started the test fails, unless
//! `HOOKLINE_SKIP_TOOL_TESTS=1` says to skip it knowingly: it never passes without running.

/// Called when `tool` could not be started for `test`: panics, or with
/// `HOOKLINE_SKIP_TOOL_TESTS=1` prints that `test` was skipped and returns.
#[track_caller]
pub fn missing(tool: &str, test: &str, error: &std::io::Error) {
    if std::env::var("HOOKLINE_SKIP_TOOL_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIPPED {test}: {tool} could not be started ({error})");
    } else {
        panic!(
            "{test} did not run: it needs {tool}, which could not be started ({error}); \
             install it (`make tools`) or set HOOKLINE_SKIP_TOOL_TESTS=1 to skip it knowingly"
        );
    }
}
