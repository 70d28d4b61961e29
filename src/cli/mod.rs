//! The scripting CLI.
