//! Seeds the demo directory (namespaces and users from `assets/demo/`) into a new store.
