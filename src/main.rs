//! The `sacon` binary: clap commands, terminal setup and restore, the panic hook.

fn main() {}
