//! The `hookline` executable; everything lives in the library so tests can reach it.

fn main() -> std::process::ExitCode {
    hookline::main()
}
