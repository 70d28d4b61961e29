//! The schema agreement test: every message, enum and RPC sacon defines under a `pomerium.*` package agrees with
//! Pomerium's own schema (`../shared/reference/pomerium-proto`) in name, number, type, cardinality, presence and
//! idempotency; sacon's extension fields (numbered from 1000) are absent upstream; and every Struct-typed field is
//! one the JSON decoder keeps `null`s in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind};
use sacon::api::codec::STRUCT_FIELDS;
use sacon::api::wire::DESCRIPTOR_SET;

/// Field numbers from here up are sacon's own and must never collide with an upstream field.
const EXTENSION_FLOOR: u32 = 1000;

/// The reference files to compile; the required ones must compile, the rest are checked when they do (a file that
/// upstream changed so much that protox refuses it should not hide the others).
const REQUIRED: [&str; 5] = [
    "config/config.proto",
    "console/namespaces.proto",
    "console/users.proto",
    "console/policy.proto",
    "console/routes.proto",
];
const OPTIONAL: [&str; 1] = ["console/activity_log.proto"];

fn reference_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/pomerium-proto")
}

/// Pomerium's schema as one pool, with the import roots SOURCES.md names.
fn reference_pool() -> DescriptorPool {
    let root = reference_root();
    let includes = [root.join("config"), root.join("console"), root.join("deps")];
    let mut compiler = protox::Compiler::new(&includes).expect("reference include paths");
    for file in REQUIRED {
        if let Err(e) = compiler.open_file(root.join(file)) {
            panic!("reference {file} does not compile: {e}");
        }
    }
    for file in OPTIONAL {
        // A file that does not compile leaves the compiler as it was, so the others still count.
        if let Err(e) = compiler.open_file(root.join(file)) {
            eprintln!("skipping reference {file}: {e}");
        }
    }
    compiler.descriptor_pool()
}

fn sacon_pool() -> DescriptorPool {
    DescriptorPool::decode(DESCRIPTOR_SET).expect("sacon's DESCRIPTOR_SET decodes")
}

fn is_pomerium(package: &str) -> bool {
    package == "pomerium" || package.starts_with("pomerium.")
}

/// A kind by name, so that types from two pools compare (descriptors compare by pool identity).
fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
        scalar => format!("{scalar:?}").to_lowercase(),
    }
}

/// Everything about a field that decides its wire and JSON form, except its number.
fn shape(field: &FieldDescriptor) -> String {
    let kind = field.kind();
    let ty = match (&kind, field.is_map()) {
        (Kind::Message(entry), true) => format!(
            "map<{}, {}>",
            kind_name(&entry.map_entry_key_field().kind()),
            kind_name(&entry.map_entry_value_field().kind())
        ),
        _ if field.is_list() => format!("repeated {}", kind_name(&kind)),
        _ => kind_name(&kind),
    };
    let presence = if field.is_list() || field.is_map() {
        ""
    } else if field.supports_presence() {
        " (presence)"
    } else {
        " (no presence)"
    };
    // A real oneof changes what setting the field does to its siblings; the synthetic one of `optional` does not.
    let oneof = field
        .containing_oneof()
        .filter(|o| !o.is_synthetic())
        .map(|o| format!(" in oneof {}", o.name()))
        .unwrap_or_default();
    format!(
        "{} {}{presence}{oneof} json {}",
        field.name(),
        ty,
        field.json_name()
    )
}

fn idempotency(method: &prost_reflect::MethodDescriptor) -> String {
    let level = method
        .method_descriptor_proto()
        .options
        .as_ref()
        .map(|o| o.idempotency_level())
        .unwrap_or_default();
    format!("{level:?}")
}

/// Every way sacon's `pomerium.*` schema departs from the reference, one line each; empty when they agree.
fn disagreements(sacon: &DescriptorPool, reference: &DescriptorPool) -> Vec<String> {
    let mut out = Vec::new();
    for msg in sacon.all_messages() {
        // Map entries are compared through the map field that owns them.
        if !is_pomerium(msg.package_name()) || msg.is_map_entry() {
            continue;
        }
        let name = msg.full_name();
        let Some(theirs) = reference.get_message_by_name(name) else {
            out.push(format!("message {name}: not in the reference"));
            continue;
        };
        for field in msg.fields() {
            let number = field.number();
            let ours = shape(&field);
            if number >= EXTENSION_FLOOR {
                if let Some(t) = theirs.get_field(number) {
                    out.push(format!(
                        "{name}.{} = {number}: extension number is taken upstream by {}",
                        field.name(),
                        t.name()
                    ));
                }
                if let Some(t) = theirs.get_field_by_name(field.name()) {
                    out.push(format!(
                        "{name}.{} = {number}: extension name exists upstream as number {}",
                        field.name(),
                        t.number()
                    ));
                }
                continue;
            }
            match theirs.get_field(number) {
                None => out.push(format!(
                    "{name}.{} = {number}: no field {number} upstream{}",
                    field.name(),
                    theirs
                        .get_field_by_name(field.name())
                        .map(|t| format!(" (upstream it is {})", t.number()))
                        .unwrap_or_default()
                )),
                Some(t) => {
                    let upstream = shape(&t);
                    if ours != upstream {
                        out.push(format!(
                            "{name} field {number}: sacon `{ours}`, upstream `{upstream}`"
                        ));
                    }
                }
            }
        }
    }
    for en in sacon.all_enums() {
        if !is_pomerium(en.package_name()) {
            continue;
        }
        let name = en.full_name();
        let Some(theirs) = reference.get_enum_by_name(name) else {
            out.push(format!("enum {name}: not in the reference"));
            continue;
        };
        let values = |e: &prost_reflect::EnumDescriptor| -> BTreeSet<(String, i32)> {
            e.values()
                .map(|v| (v.name().to_owned(), v.number()))
                .collect()
        };
        let (ours, upstream) = (values(&en), values(&theirs));
        if ours != upstream {
            out.push(format!(
                "enum {name}: sacon {ours:?}, upstream {upstream:?}"
            ));
        }
    }
    for service in sacon.services() {
        if !is_pomerium(service.package_name()) {
            continue;
        }
        let name = service.full_name();
        let Some(theirs) = reference.get_service_by_name(name) else {
            out.push(format!("service {name}: not in the reference"));
            continue;
        };
        for method in service.methods() {
            let Some(t) = theirs.methods().find(|m| m.name() == method.name()) else {
                out.push(format!(
                    "rpc {name}/{}: not in the reference",
                    method.name()
                ));
                continue;
            };
            let describe = |m: &prost_reflect::MethodDescriptor| {
                format!(
                    "({}{}) returns ({}{}) idempotency {}",
                    if m.is_client_streaming() {
                        "stream "
                    } else {
                        ""
                    },
                    m.input().full_name(),
                    if m.is_server_streaming() {
                        "stream "
                    } else {
                        ""
                    },
                    m.output().full_name(),
                    idempotency(m)
                )
            };
            let (ours, upstream) = (describe(&method), describe(&t));
            if ours != upstream {
                out.push(format!(
                    "rpc {name}/{}: sacon {ours}, upstream {upstream}",
                    method.name()
                ));
            }
        }
    }
    out
}

fn is_struct_like(kind: &Kind) -> bool {
    matches!(kind, Kind::Message(m) if matches!(
        m.full_name(),
        "google.protobuf.Struct" | "google.protobuf.Value" | "google.protobuf.ListValue"
    ))
}

/// Whether a field holds Struct/Value/ListValue data, directly, repeated, or as a map's values.
fn holds_struct(field: &FieldDescriptor) -> bool {
    match field.kind() {
        Kind::Message(entry) if field.is_map() => {
            is_struct_like(&entry.map_entry_value_field().kind())
        }
        kind => is_struct_like(&kind),
    }
}

#[test]
fn sacon_agrees_with_the_reference_schema() {
    let problems = disagreements(&sacon_pool(), &reference_pool());
    assert!(
        problems.is_empty(),
        "sacon's pomerium.* schema departs from Pomerium's in {} places:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn the_comparison_covers_every_pomerium_definition() {
    // Guards against a comparison that passes because it looked at nothing.
    let sacon = sacon_pool();
    let messages = sacon
        .all_messages()
        .filter(|m| is_pomerium(m.package_name()))
        .count();
    let methods: usize = sacon
        .services()
        .filter(|s| is_pomerium(s.package_name()))
        .map(|s| s.methods().len())
        .sum();
    assert!(
        sacon
            .get_message_by_name("pomerium.config.ServiceAccount")
            .is_some()
    );
    // The services sacon serves from the reference, each with its methods.
    for service in [
        "pomerium.config.ConfigService",
        "pomerium.dashboard.NamespaceService",
        "pomerium.dashboard.NamespacePermissionService",
        "pomerium.dashboard.UserService",
        "pomerium.dashboard.PomeriumServiceAccountService",
        "pomerium.dashboard.ActivityLogService",
        "pomerium.dashboard.PolicyService",
        "pomerium.dashboard.RouteService",
    ] {
        let s = sacon
            .get_service_by_name(service)
            .unwrap_or_else(|| panic!("sacon's schema has no {service}"));
        assert!(s.methods().len() >= 3, "{service} has too few methods");
    }
    for message in ["pomerium.dashboard.Policy", "pomerium.dashboard.Route"] {
        assert!(sacon.get_message_by_name(message).is_some(), "{message}");
    }
    assert!(messages >= 20, "only {messages} pomerium messages");
    assert!(methods >= 10, "only {methods} pomerium methods");
    // Every method of the compiled schema is in the generated method table, and the other way round.
    let from_pool: BTreeSet<String> = sacon
        .services()
        .flat_map(|s| {
            s.methods()
                .map(|m| format!("/{}/{}", s.full_name(), m.name()))
                .collect::<Vec<_>>()
        })
        .collect();
    let from_table: BTreeSet<String> = sacon::api::wire::paths::METHODS
        .iter()
        .map(|(path, ..)| (*path).to_owned())
        .collect();
    assert_eq!(from_pool, from_table);
}

#[test]
fn every_method_of_the_schema_is_served() {
    // sacon's own services are not in the reference, so this is what holds them to the dispatch table.
    let sacon = sacon_pool();
    for service in [
        "sacon.access.AccessService",
        "sacon.directory.DirectoryService",
        "sacon.tokens.TokenService",
    ] {
        assert!(
            sacon.get_service_by_name(service).is_some(),
            "sacon's schema has no {service}"
        );
    }
    let unserved: Vec<&str> = sacon::api::wire::paths::METHODS
        .iter()
        .map(|(path, ..)| *path)
        .filter(|path| sacon::server::methods::spec(path).is_none())
        .collect();
    assert!(unserved.is_empty(), "declared but not served: {unserved:?}");
    for method in ["CheckAccess", "ListAccountReach", "ListDangling"] {
        let path = format!("/sacon.access.AccessService/{method}");
        assert!(sacon::server::methods::spec(&path).is_some(), "{path}");
    }
}

#[test]
fn every_struct_field_keeps_its_nulls() {
    // The JSON decoder drops `null` (unset) everywhere except under the keys in STRUCT_FIELDS, and a client may
    // spell a key either way, so both the proto name and the JSON name must be listed.
    let mut missing = Vec::new();
    let mut struct_names = BTreeSet::new();
    let sacon = sacon_pool();
    // The well-known types' own fields are pbjson's business, not the decoder's.
    let own = |m: &prost_reflect::MessageDescriptor| m.package_name() != "google.protobuf";
    for msg in sacon.all_messages().filter(own) {
        for field in msg.fields().filter(holds_struct) {
            for key in [field.name(), field.json_name()] {
                struct_names.insert(key.to_owned());
                if !STRUCT_FIELDS.contains(&key) {
                    missing.push(format!("{} (key `{key}`)", field.full_name()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "Struct-typed fields missing from codec::STRUCT_FIELDS: {missing:?}"
    );
    // The decoder matches by key alone, so a listed key that also names a non-Struct field would let a `null`
    // reach that field's decoder, which refuses it.
    let mut clashes = Vec::new();
    for msg in sacon.all_messages().filter(own) {
        for field in msg.fields() {
            let key_listed =
                STRUCT_FIELDS.contains(&field.name()) || STRUCT_FIELDS.contains(&field.json_name());
            if key_listed && !holds_struct(&field) {
                clashes.push(field.full_name().to_owned());
            }
        }
    }
    assert!(
        clashes.is_empty(),
        "STRUCT_FIELDS keys that also name non-Struct fields: {clashes:?}"
    );
    assert!(
        STRUCT_FIELDS.iter().all(|k| struct_names.contains(*k)),
        "STRUCT_FIELDS lists keys no Struct field has: {STRUCT_FIELDS:?} vs {struct_names:?}"
    );
}

/// A pool compiled from one in-memory `.proto` source (written to a temporary include directory).
fn pool_from_source(source: &str) -> DescriptorPool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.proto"), source).unwrap();
    let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    compiler.open_file("t.proto").unwrap();
    compiler.descriptor_pool()
}

const UPSTREAM: &str = r#"
syntax = "proto3";
package pomerium.selftest;
import "google/protobuf/timestamp.proto";
enum Kind { KIND_UNKNOWN = 0; KIND_A = 1; }
message Thing {
  optional string id = 1;
  string name = 2;
  google.protobuf.Timestamp at = 3;
  repeated string tags = 4;
  map<string, string> labels = 5;
  Kind kind = 6;
}
message Req {}
service S {
  rpc Get(Req) returns (Thing) { option idempotency_level = NO_SIDE_EFFECTS; }
  rpc Put(Thing) returns (Thing);
}
"#;

#[test]
fn the_comparison_reports_each_kind_of_departure() {
    let upstream = pool_from_source(UPSTREAM);
    // Identical schemas agree, so every report below comes from the one change made.
    assert_eq!(
        disagreements(&pool_from_source(UPSTREAM), &upstream),
        Vec::<String>::new()
    );
    let cases: [(&str, &str, &str); 9] = [
        (
            "optional marker dropped",
            "optional string id = 1;",
            "string id = 1;",
        ),
        ("field renumbered", "string name = 2;", "string name = 12;"),
        (
            "optional marker added",
            "string name = 2;",
            "optional string name = 2;",
        ),
        (
            "type changed",
            "google.protobuf.Timestamp at = 3;",
            "string at = 3;",
        ),
        (
            "cardinality changed",
            "repeated string tags = 4;",
            "string tags = 4;",
        ),
        (
            "map value changed",
            "map<string, string> labels = 5;",
            "map<string, int64> labels = 5;",
        ),
        ("enum value renumbered", "KIND_A = 1;", "KIND_A = 2;"),
        (
            "idempotency dropped",
            "rpc Get(Req) returns (Thing) { option idempotency_level = NO_SIDE_EFFECTS; }",
            "rpc Get(Req) returns (Thing);",
        ),
        (
            "output type changed",
            "rpc Put(Thing) returns (Thing);",
            "rpc Put(Thing) returns (Req);",
        ),
    ];
    for (what, from, to) in cases {
        assert!(UPSTREAM.contains(from), "{what}: bad test case");
        let changed = pool_from_source(&UPSTREAM.replace(from, to));
        let found = disagreements(&changed, &upstream);
        assert_eq!(found.len(), 1, "{what}: expected one report, got {found:?}");
    }
    // An extension number or name that upstream uses is reported; a fresh one is not.
    let ext =
        |line: &str| UPSTREAM.replace("  Kind kind = 6;", &format!("  Kind kind = 6;\n  {line}"));
    assert_eq!(
        disagreements(&pool_from_source(&ext("string ours = 1001;")), &upstream),
        Vec::<String>::new()
    );
    let late = pool_from_source(&ext("string upstream_late = 1000;"));
    assert_eq!(
        disagreements(&pool_from_source(&ext("string ours = 1000;")), &late).len(),
        1
    );
    assert_eq!(
        disagreements(&late, &late).len(),
        2,
        "number and name both taken"
    );
    let renamed = UPSTREAM.replace("  string name = 2;", "  string named = 2;");
    assert_eq!(
        disagreements(&pool_from_source(&renamed), &upstream).len(),
        1
    );
    // A message or method upstream lacks is reported.
    let extra = format!("{UPSTREAM}\nmessage Extra {{}}\n");
    assert_eq!(disagreements(&pool_from_source(&extra), &upstream).len(), 1);
    let extra_rpc = UPSTREAM.replace(
        "rpc Put(Thing) returns (Thing);",
        "rpc Put(Thing) returns (Thing);\n  rpc Drop(Req) returns (Req);",
    );
    assert_eq!(
        disagreements(&pool_from_source(&extra_rpc), &upstream).len(),
        1
    );
}
