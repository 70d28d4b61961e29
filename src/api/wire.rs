//! The wire messages, generated at build time from `proto/` (prost types with pbjson's protobuf JSON mapping; see
//! build.rs), flattened into one namespace for callers. Hand-written here: only that the messages carrying a
//! JWT wipe it when dropped.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pomerium {
    pub mod config {
        include!(concat!(env!("OUT_DIR"), "/pomerium.config.rs"));
        include!(concat!(env!("OUT_DIR"), "/pomerium.config.serde.rs"));
    }
    pub mod dashboard {
        include!(concat!(env!("OUT_DIR"), "/pomerium.dashboard.rs"));
        include!(concat!(env!("OUT_DIR"), "/pomerium.dashboard.serde.rs"));
    }
}

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod sacon {
    pub mod access {
        include!(concat!(env!("OUT_DIR"), "/sacon.access.rs"));
        include!(concat!(env!("OUT_DIR"), "/sacon.access.serde.rs"));
    }
    pub mod directory {
        include!(concat!(env!("OUT_DIR"), "/sacon.directory.rs"));
        include!(concat!(env!("OUT_DIR"), "/sacon.directory.serde.rs"));
    }
    pub mod tokens {
        include!(concat!(env!("OUT_DIR"), "/sacon.tokens.rs"));
        include!(concat!(env!("OUT_DIR"), "/sacon.tokens.serde.rs"));
    }
}

/// Every method of the schema and its path constant (`paths::GET_SERVER_INFO`, …), from the service definitions.
pub mod paths {
    include!(concat!(env!("OUT_DIR"), "/methods.rs"));
}

/// The compiled schema (an encoded `FileDescriptorSet`), for tests that compare it with Pomerium's.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

pub use pomerium::config::*;
pub use pomerium::dashboard::*;
pub use sacon::access::*;
pub use sacon::directory::*;
pub use sacon::tokens::*;

// The messages that carry a JWT wipe it when dropped, wherever they were decoded or built.
macro_rules! zeroize_on_drop {
    ($($t:ty => $field:ident),* $(,)?) => {$(
        impl Drop for $t {
            fn drop(&mut self) {
                zeroize::Zeroize::zeroize(&mut self.$field);
            }
        }
    )*};
}
zeroize_on_drop!(
    CreateServiceAccountResponse => jwt,
    UpdateServiceAccountResponse => jwt,
    AddPomeriumServiceAccountResponse => jwt,
    SetPomeriumServiceAccountResponse => jwt,
    InspectTokenRequest => jwt,
    CheckAccessRequest => jwt,
);
