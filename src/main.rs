//! The `sacon` binary: hands the command line to `sacon::cli`, which opens the console (the TUI sets up and
//! restores the terminal itself) or runs a scripting command; exits 0 on success, 1 on an API or I/O error,
//! 2 on a usage error.

fn main() -> std::process::ExitCode {
    sacon::cli::main()
}
