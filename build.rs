//! Compiles the wire schema in `proto/` with protox (pure Rust, no `protoc`): prost types, their protobuf JSON
//! mapping from pbjson-build, the encoded descriptor set (for tests), and a table of every method with its
//! path and whether it is marked `NO_SIDE_EFFECTS`.

use std::fmt::Write as _;
use std::path::PathBuf;

use prost::Message;

const FILES: [&str; 5] = [
    "proto/pomerium/config.proto",
    "proto/pomerium/dashboard.proto",
    "proto/sacon/access.proto",
    "proto/sacon/directory.proto",
    "proto/sacon/tokens.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // `sqlx::migrate!` embeds migrations/ and migrations_pg/ at compile time; a new file there must rebuild the crate.
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations_pg");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let fds = protox::compile(FILES, ["proto"])?;
    let descriptor = fds.encode_to_vec();
    std::fs::write(out.join("descriptor.bin"), &descriptor)?;

    // The well-known types come from pbjson-types, which carry their JSON mapping, instead of prost-types.
    prost_build::Config::new()
        .compile_well_known_types()
        .extern_path(".google.protobuf.Timestamp", "crate::api::wkt::Timestamp")
        .extern_path(".google.protobuf.FieldMask", "crate::api::wkt::FieldMask")
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(fds.clone())?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor)?
        .build(&[".pomerium", ".sacon"])?;

    let mut table = String::from(
        "/// Every method of the schema: `(path, package.Service, Method, no side effects)`.\n\
         pub const METHODS: &[(&str, &str, &str, bool)] = &[\n",
    );
    let mut consts = String::new();
    for file in &fds.file {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            for method in &service.method {
                let no_side_effects = method.options.as_ref().is_some_and(|o| {
                    o.idempotency_level()
                        == prost_types::method_options::IdempotencyLevel::NoSideEffects
                });
                let path = format!("/{full}/{}", method.name());
                writeln!(
                    table,
                    "    ({path:?}, {full:?}, {:?}, {no_side_effects}),",
                    method.name()
                )?;
                writeln!(
                    consts,
                    "pub const {}: &str = {path:?};",
                    screaming(method.name())
                )?;
            }
        }
    }
    table.push_str("];\n");
    std::fs::write(out.join("methods.rs"), format!("{table}\n{consts}"))?;
    Ok(())
}

/// `GetServerInfo` -> `GET_SERVER_INFO`.
fn screaming(name: &str) -> String {
    let mut s = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(c.to_ascii_uppercase());
    }
    s
}
