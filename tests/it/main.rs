//! The one integration test binary: every area of sacon tested through its real parts (the server on
//! 127.0.0.1:0 with a temporary data directory, the built binary, real nginx, tmux), one module per area, with
//! the fixtures they share in `support`.

mod support;

mod access;
mod access_api;
mod activity;
mod api;
mod cli;
mod cli_access;
mod cli_accounts;
mod cli_report;
mod cli_roles;
mod context;
mod credentials;
mod disable;
mod durability;
mod edits;
mod group_commit;
mod hardening;
mod input;
mod interop;
mod migrate;
mod nginx;
mod pg_store;
mod policies;
mod proxies;
mod readme;
mod replicas;
mod roles;
mod schema;
mod serve;
mod store;
mod tui_activity;
mod tui_audit;
mod tui_bulk;
mod tui_contexts;
mod tui_disable;
mod tui_e2e;
mod tui_e2e_access;
mod tui_e2e_audit;
mod tui_edit;
mod tui_export;
mod tui_keys;
mod tui_namespaces;
mod tui_policies;
mod tui_render;
mod tui_roles;
mod tui_state;
mod tui_token;
mod upstream;
mod verify;
