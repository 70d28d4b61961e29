//! An independent client: messages built and read only through Pomerium's reference schemas (prost-reflect
//! dynamic messages, no sacon wire type) drive every ConfigService service-account RPC, and the Console's
//! ListNamespaces and QueryUsers, against the real server in both Connect codecs, and every answer must decode
//! with the reference descriptors and carry what Pomerium's API promises.

use std::path::Path;

use crate::support::TestServer;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};
use serde_json::{Value, json};

const CONFIG: &str = "pomerium.config.ConfigService";
const NAMESPACES: &str = "pomerium.dashboard.NamespaceService";
const USERS: &str = "pomerium.dashboard.UserService";

/// Nanoseconds on purpose: Pomerium's Timestamp keeps them, so a server that rounds to seconds is caught.
const EXPIRES: &str = "2030-01-31T00:00:00.123456789Z";
const EXPIRES_SECONDS: i64 = 1_896_048_000;
const EXPIRES_NANOS: i32 = 123_456_789;

/// Pomerium's schema, compiled from the reference files with the import roots their SOURCES.md names.
fn reference_pool() -> DescriptorPool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/pomerium-proto");
    let includes = [root.join("config"), root.join("console"), root.join("deps")];
    let mut compiler = protox::Compiler::new(&includes).expect("reference include paths");
    for file in [
        "config/config.proto",
        "console/namespaces.proto",
        "console/users.proto",
    ] {
        if let Err(e) = compiler.open_file(root.join(file)) {
            panic!("reference {file} does not compile: {e}");
        }
    }
    compiler.descriptor_pool()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Codec {
    Json,
    Proto,
}

impl Codec {
    fn content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Proto => "application/proto",
        }
    }
}

/// A Connect error as the wire carries it.
#[derive(Debug)]
struct Failure {
    status: u16,
    code: String,
    message: String,
}

struct Client {
    server: TestServer,
    pool: DescriptorPool,
    codec: Codec,
}

/// A decoded answer: the dynamic message, and its proto3 JSON form for reading fields by their JSON names.
struct Answer {
    msg: DynamicMessage,
    json: Value,
}

impl Client {
    async fn new(codec: Codec, seed_demo: bool) -> Client {
        Client {
            server: TestServer::start_with(None, seed_demo).await,
            pool: reference_pool(),
            codec,
        }
    }

    fn method(&self, service: &str, name: &str) -> MethodDescriptor {
        let svc = self
            .pool
            .get_service_by_name(service)
            .unwrap_or_else(|| panic!("reference has no service {service}"));
        svc.methods()
            .find(|m| m.name() == name)
            .unwrap_or_else(|| panic!("reference {service} has no method {name}"))
    }

    /// Builds the request from its proto3 JSON form with the reference descriptor, sends it in this client's
    /// codec, and decodes the answer with the reference descriptor.
    async fn call(&self, service: &str, name: &str, request: Value) -> Result<Answer, Failure> {
        let method = self.method(service, name);
        let req = DynamicMessage::deserialize(method.input(), request.clone())
            .unwrap_or_else(|e| panic!("{name}: request {request} is not a valid message: {e}"));
        let body = match self.codec {
            Codec::Json => serde_json::to_vec(&req).unwrap(),
            Codec::Proto => req.encode_to_vec(),
        };
        // Presence must survive the client's own encoding, or the optional-field steps would test nothing.
        if let Codec::Json = self.codec {
            let sent: Value = serde_json::from_slice(&body).unwrap();
            let input = method.input();
            for key in request.as_object().unwrap().keys() {
                let field = input
                    .get_field_by_json_name(key)
                    .or_else(|| input.get_field_by_name(key))
                    .unwrap();
                // A plain field at its default is rightly left out.
                if !field.supports_presence() {
                    continue;
                }
                assert!(
                    sent.get(key).is_some(),
                    "{name}: client dropped `{key}`: {sent}"
                );
            }
        }
        let token = sacon::token::bootstrap_token(&self.server.secret, self.server.now());
        let resp = self
            .server
            .http
            .post(format!("{}/{service}/{name}", self.server.url))
            .header("Content-Type", self.codec.content_type())
            .header("Connect-Protocol-Version", "1")
            .header("Authorization", format!("Pomerium {}", token.as_str()))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = resp.bytes().await.unwrap();
        if status != 200 {
            // Connect errors are JSON whatever the request codec.
            assert!(
                content_type.starts_with("application/json"),
                "{name}: error {status} as {content_type:?}"
            );
            let v: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{name}: error body is not JSON ({e}): {bytes:?}"));
            let obj = v.as_object().expect("error body is an object");
            assert!(
                obj.keys().all(|k| k == "code" || k == "message"),
                "{name}: error body {v}"
            );
            return Err(Failure {
                status,
                code: obj["code"].as_str().expect("string code").to_owned(),
                message: obj
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        assert!(
            content_type.starts_with(self.codec.content_type()),
            "{name}: 200 as {content_type:?} for a {:?} request",
            self.codec
        );
        let msg = match self.codec {
            Codec::Json => {
                let raw: Value = serde_json::from_slice(&bytes).unwrap();
                assert!(!has_null(&raw), "{name}: the server emitted null: {raw}");
                // Unknown fields are refused, so a name upstream does not have fails here.
                DynamicMessage::deserialize(method.output(), raw.clone()).unwrap_or_else(|e| {
                    panic!("{name}: answer does not decode as the reference message: {e}: {raw}")
                })
            }
            Codec::Proto => {
                let msg =
                    DynamicMessage::decode(method.output(), bytes.as_ref()).unwrap_or_else(|e| {
                        panic!("{name}: answer does not decode as the reference message: {e}")
                    });
                // Every field number the server wrote must be one the reference knows.
                assert_eq!(
                    msg.unknown_fields().count(),
                    0,
                    "{name}: fields unknown upstream: {msg:?}"
                );
                msg
            }
        };
        let json = serde_json::to_value(&msg).unwrap();
        Ok(Answer { msg, json })
    }

    async fn ok(&self, service: &str, name: &str, request: Value) -> Answer {
        match self.call(service, name, request).await {
            Ok(a) => a,
            Err(f) => panic!("{name} ({:?}): {f:?}", self.codec),
        }
    }

    async fn config(&self, name: &str, request: Value) -> Answer {
        self.ok(CONFIG, name, request).await
    }
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

/// The nested message in `field`, which must be present.
fn sub(msg: &DynamicMessage, field: &str) -> DynamicMessage {
    assert!(msg.has_field_by_name(field), "no {field} in {msg:?}");
    msg.get_field_by_name(field)
        .unwrap()
        .as_message()
        .unwrap()
        .clone()
}

fn text(msg: &DynamicMessage, field: &str) -> String {
    msg.get_field_by_name(field)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// A Timestamp field as (seconds, nanos).
fn instant(msg: &DynamicMessage, field: &str) -> (i64, i32) {
    let ts = sub(msg, field);
    (
        ts.get_field_by_name("seconds").unwrap().as_i64().unwrap(),
        ts.get_field_by_name("nanos").unwrap().as_i32().unwrap(),
    )
}

fn assert_jwt(answer: &Answer) {
    let jwt = text(&answer.msg, "jwt");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| !p.is_empty()),
        "not a JWT: {jwt:?}"
    );
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.json["serviceAccounts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|sa| sa["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn service_accounts(codec: Codec) {
    let c = Client::new(codec, false).await;
    let user = format!("interop-{codec:?}").to_lowercase();

    let info = c.config("GetServerInfo", json!({})).await;
    assert_eq!(info.json["serverType"], "SERVER_TYPE_ENTERPRISE");

    let created = c
        .config(
            "CreateServiceAccount",
            json!({"serviceAccount": {"userId": user, "description": "interop A", "expiresAt": EXPIRES}}),
        )
        .await;
    assert_jwt(&created);
    let a = sub(&created.msg, "service_account");
    let a_id = text(&a, "id");
    assert!(!a_id.is_empty());
    assert_eq!(text(&a, "user_id"), user);
    assert_eq!(text(&a, "description"), "interop A");
    assert_eq!(instant(&a, "expires_at"), (EXPIRES_SECONDS, EXPIRES_NANOS));
    assert_eq!(created.json["serviceAccount"]["expiresAt"], EXPIRES);

    // An unset optional field stays unset: absent on the wire, not an empty string.
    let created = c
        .config(
            "CreateServiceAccount",
            json!({"serviceAccount": {"userId": user}}),
        )
        .await;
    let b = sub(&created.msg, "service_account");
    let b_id = text(&b, "id");
    assert!(
        !b.has_field_by_name("description"),
        "description set: {b:?}"
    );
    assert!(!b.has_field_by_name("expires_at"), "expiry set: {b:?}");
    assert!(created.json["serviceAccount"].get("description").is_none());
    c.config(
        "CreateServiceAccount",
        json!({"serviceAccount": {"userId": "someone-else"}}),
    )
    .await;

    let got = c.config("GetServiceAccount", json!({"id": a_id})).await;
    let got = sub(&got.msg, "service_account");
    assert_eq!(text(&got, "id"), a_id);
    assert_eq!(text(&got, "description"), "interop A");
    assert_eq!(
        instant(&got, "expires_at"),
        (EXPIRES_SECONDS, EXPIRES_NANOS)
    );

    let mut mine = vec![a_id.clone(), b_id.clone()];
    mine.sort();
    let filter = json!({"user_id": user});
    let all = c
        .config(
            "ListServiceAccounts",
            json!({"filter": filter, "orderBy": "id"}),
        )
        .await;
    assert_eq!(ids(&all), mine, "absent limit: every match, in id order");
    assert_eq!(all.json["totalCount"], "2");
    let page = c
        .config(
            "ListServiceAccounts",
            json!({"filter": filter, "orderBy": "-id", "offset": 1, "limit": 1}),
        )
        .await;
    assert_eq!(ids(&page), mine[..1], "second of two, descending");
    assert_eq!(page.json["totalCount"], "2");
    let none = c
        .config(
            "ListServiceAccounts",
            json!({"filter": filter, "orderBy": "id", "limit": 0}),
        )
        .await;
    assert_eq!(ids(&none), Vec::<String>::new(), "limit 0: no accounts");
    assert_eq!(none.json["totalCount"], "2", "limit 0 still counts");

    // The mask limits the update to description; the new expiry in the same message must be ignored.
    let updated = c
        .config(
            "UpdateServiceAccount",
            json!({
                "serviceAccount": {"id": a_id, "userId": user, "description": "renamed", "expiresAt": "2031-01-01T00:00:00Z"},
                "updateMask": "description",
            }),
        )
        .await;
    assert_jwt(&updated);
    let u = sub(&updated.msg, "service_account");
    assert_eq!(text(&u, "description"), "renamed");
    assert_eq!(instant(&u, "expires_at"), (EXPIRES_SECONDS, EXPIRES_NANOS));

    // A present, empty mask names no field, so nothing changes.
    let updated = c
        .config(
            "UpdateServiceAccount",
            json!({
                "serviceAccount": {"id": a_id, "userId": user, "description": "ignored"},
                "updateMask": "",
            }),
        )
        .await;
    assert!(
        updated
            .msg
            .get_field_by_name("service_account")
            .is_some_and(|v| v.as_message().is_some())
    );
    let got = c.config("GetServiceAccount", json!({"id": a_id})).await;
    let got = sub(&got.msg, "service_account");
    assert_eq!(text(&got, "description"), "renamed");
    assert_eq!(
        instant(&got, "expires_at"),
        (EXPIRES_SECONDS, EXPIRES_NANOS)
    );

    let deleted = c.config("DeleteServiceAccount", json!({"id": a_id})).await;
    assert_eq!(deleted.json, json!({}));
    let gone = c
        .call(CONFIG, "GetServiceAccount", json!({"id": a_id}))
        .await
        .err()
        .expect("deleted account is gone");
    assert_eq!(
        (gone.status, gone.code.as_str()),
        (404, "not_found"),
        "{gone:?}"
    );
    let bad = c
        .call(CONFIG, "DeleteServiceAccount", json!({}))
        .await
        .err()
        .expect("empty id is refused");
    assert_eq!(
        (bad.status, bad.code.as_str()),
        (400, "invalid_argument"),
        "{bad:?}"
    );
    assert!(!bad.message.is_empty());
    let left = c
        .config("ListServiceAccounts", json!({"filter": filter}))
        .await;
    assert_eq!(ids(&left), vec![b_id]);
}

async fn console(codec: Codec) {
    let c = Client::new(codec, true).await;
    let listed = c.ok(NAMESPACES, "ListNamespaces", json!({})).await;
    let namespaces = listed.json["namespaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // One root (no parentId on the wire, since an empty string is the default), the rest hang below it.
    let roots: Vec<&Value> = namespaces
        .iter()
        .filter(|n| n.get("parentId").is_none())
        .collect();
    assert_eq!(roots.len(), 1, "{namespaces:?}");
    assert!(namespaces.len() > 1, "the demo tree: {namespaces:?}");
    assert!(
        namespaces
            .iter()
            .all(|n| n["id"].as_str().is_some_and(|s| !s.is_empty())
                && n["name"].as_str().is_some_and(|s| !s.is_empty()))
    );

    let found = c
        .ok(USERS, "QueryUsers", json!({"query": "ALICE", "limit": 5}))
        .await;
    let users = found.json["users"].as_array().cloned().unwrap_or_default();
    // Case-insensitive: the upper-case query finds the demo's Alices, this one among them.
    let alice = users
        .iter()
        .find(|u| u["id"] == "alice.nguyen")
        .unwrap_or_else(|| panic!("no alice.nguyen in {users:?}"));
    assert_eq!(alice["email"], "alice.nguyen@example.com");
    assert!(
        alice["groups"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("engineering")))
    );
    let total: u64 = found.json["totalCount"].as_str().unwrap().parse().unwrap();
    assert!(total >= users.len() as u64 && total > 0);
    let page = c
        .ok(
            USERS,
            "QueryUsers",
            json!({"query": "", "offset": 1, "limit": 2}),
        )
        .await;
    assert_eq!(page.json["users"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn service_accounts_over_json() {
    service_accounts(Codec::Json).await;
}

#[tokio::test]
async fn service_accounts_over_proto() {
    service_accounts(Codec::Proto).await;
}

#[tokio::test]
async fn console_over_json() {
    console(Codec::Json).await;
}

#[tokio::test]
async fn console_over_proto() {
    console(Codec::Proto).await;
}
