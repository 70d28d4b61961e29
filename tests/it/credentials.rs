//! Credentials over real HTTP: no service account's JWT is ever an admin credential whatever its caller-chosen
//! fields, Pomerium's SDK bootstrap token is one, a deleted account's tokens never verify again when its id is
//! reused in the same second, and tokens signed with the secret are read strictly (types, ranges, `crit`,
//! `iat` ahead of now or of the account's issue time), admin tokens included.

use crate::support::{TestServer, forge};
use chrono::Duration;
use sacon::api::wire::paths;
use sacon::token::BOOTSTRAP_SUBJECT;
use serde_json::{Value, json};

/// The `jti` of Pomerium's bootstrap token, as its SDK sends it.
const BOOTSTRAP_ID: &str = "014e587b-3f4b-4fcf-90a9-f6ecdf8154af";
const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn header() -> Value {
    serde_json::from_str(HS256).unwrap()
}

/// How the admin API answers `jwt` presented as each admin form: (`Authorization: Pomerium`, `jwt:`).
/// The admin API's answers to `jwt` in the two admin forms. Each probe comes from its own loopback address, so
/// the many refusals here are never slowed by the per-address throttle of failed authentications.
async fn admin_statuses(s: &TestServer, jwt: &str) -> (u16, u16) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let from = std::net::Ipv4Addr::new(127, 1, (n / 250) as u8 % 250, (n % 250) as u8 + 1);
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(from))
        .build()
        .unwrap();
    let call = |name: &'static str, value: String| {
        http.post(format!("{}{}", s.url, paths::LIST_SERVICE_ACCOUNTS))
            .header("Content-Type", "application/json")
            .header(name, value)
            .body("{}")
            .send()
    };
    let pomerium = call("Authorization", format!("Pomerium {jwt}"))
        .await
        .unwrap()
        .status()
        .as_u16();
    let exp_only = call("jwt", jwt.to_string())
        .await
        .unwrap()
        .status()
        .as_u16();
    (pomerium, exp_only)
}

async fn verify_status(s: &TestServer, jwt: &str) -> u16 {
    s.verify(&[("X-Pomerium-Authorization", jwt)], "").await.0
}

async fn inspect(s: &TestServer, jwt: &str) -> String {
    s.admin().inspect_token(jwt, None).await.unwrap().verdict
}

/// The bootstrap values, their case variants, and values that merely contain them.
fn hostile_values() -> Vec<String> {
    let mixed: String = BOOTSTRAP_SUBJECT
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    vec![
        BOOTSTRAP_ID.to_string(),
        BOOTSTRAP_SUBJECT.to_string(),
        BOOTSTRAP_ID.to_uppercase(),
        BOOTSTRAP_SUBJECT.to_uppercase(),
        mixed,
        format!("x{BOOTSTRAP_SUBJECT}"),
        format!("{BOOTSTRAP_SUBJECT}.evil"),
        format!("{BOOTSTRAP_ID}-1"),
        format!("{BOOTSTRAP_SUBJECT} "),
    ]
}

fn reserved(value: &str) -> bool {
    let v = value.to_lowercase();
    v == BOOTSTRAP_ID || v == BOOTSTRAP_SUBJECT
}

#[tokio::test]
async fn no_account_token_is_an_admin_credential_whatever_its_fields() {
    let s = TestServer::start_manual().await;
    let root = s.root_id().await;
    let ns = s
        .admin()
        .set_namespace("", &root, BOOTSTRAP_SUBJECT)
        .await
        .unwrap()
        .id;
    // The reported attack first: an account acting as the bootstrap subject.
    let (status, body) = s
        .json(
            paths::CREATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"userId": BOOTSTRAP_SUBJECT}}),
        )
        .await;
    if let Some(jwt) = body["jwt"].as_str() {
        assert_eq!(
            admin_statuses(&s, jwt).await,
            (401, 401),
            "an account acting as the bootstrap subject got a root credential"
        );
    }
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument")),
        "{body}"
    );
    let values = hostile_values();
    let mut jwts: Vec<(String, String)> = Vec::new();
    let mut accepted_ids = Vec::new();
    let mut n = 0;
    let mut create = async |account: Value| -> Option<String> {
        let (status, body) = s
            .json(
                paths::CREATE_SERVICE_ACCOUNT,
                json!({"serviceAccount": account}),
            )
            .await;
        let refused = ["id", "userId"]
            .iter()
            .any(|f| account[f].as_str().is_some_and(reserved));
        if refused {
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some("invalid_argument")),
                "{account} must be refused: {body}"
            );
            return None;
        }
        if status != 200 {
            // A namespace id that names no namespace, or an id taken by an earlier case.
            assert_eq!(body["code"], "invalid_argument", "{account}: {body}");
            return None;
        }
        jwts.push((
            account.to_string(),
            body["jwt"].as_str().unwrap().to_string(),
        ));
        Some(body["serviceAccount"]["id"].as_str().unwrap().to_string())
    };
    for id in values.iter().map(Some).chain([None]) {
        for user in values.iter().map(String::as_str).chain(["u"]) {
            n += 1;
            let mut account =
                json!({"userId": user, "description": id.cloned().unwrap_or_default()});
            if let Some(id) = id {
                // Distinct ids for the benign cases, so each create is judged on its own.
                account["id"] = json!(if reserved(id) {
                    id.clone()
                } else {
                    format!("{id}{n}")
                });
            }
            if let Some(created) = create(account).await {
                accepted_ids.push(created);
            }
        }
        for namespace in [root.as_str(), ns.as_str(), BOOTSTRAP_ID, BOOTSTRAP_SUBJECT] {
            let description = id.cloned().unwrap_or_else(|| BOOTSTRAP_SUBJECT.into());
            create(json!({"userId": "u", "description": description, "namespaceId": namespace}))
                .await;
        }
    }
    assert!(accepted_ids.len() >= 20, "{}", accepted_ids.len());

    // Updates: every hostile value as the new userId (masked and replace-all), description and namespace.
    for (i, id) in accepted_ids.iter().take(values.len()).enumerate() {
        let value = &values[i];
        for (account, mask) in [
            (json!({"id": id, "userId": value}), Some("userId")),
            (
                json!({"id": id, "userId": value, "description": value, "namespaceId": ns}),
                None,
            ),
            (json!({"id": id, "description": value}), Some("description")),
        ] {
            let mut req = json!({"serviceAccount": account});
            if let Some(mask) = mask {
                req["updateMask"] = json!(mask);
            }
            let (status, body) = s.json(paths::UPDATE_SERVICE_ACCOUNT, req.clone()).await;
            if account["userId"].as_str().is_some_and(reserved) {
                assert_eq!(
                    (status, body["code"].as_str()),
                    (400, Some("invalid_argument")),
                    "{req} must be refused: {body}"
                );
            } else {
                assert_eq!(status, 200, "{req}: {body}");
                jwts.push((req.to_string(), body["jwt"].as_str().unwrap().to_string()));
            }
            // Keep rotations inside the issue leeway.
            s.advance(Duration::seconds(1));
        }
    }

    // A current account token authenticates its account, which holds no role (403); a superseded one does not
    // authenticate (401); the `jwt` header never takes an account token. Root, never.
    for (what, jwt) in &jwts {
        let statuses = admin_statuses(&s, jwt).await;
        assert!(
            matches!(statuses, (401 | 403, 401)),
            "the token of {what} is an admin credential: {statuses:?}"
        );
    }

    // Pomerium's SDK form (no exp, nbf now or a second before) is the root credential.
    let now = s.now().timestamp();
    for nbf in [now, now - 1] {
        let sdk = forge(
            &header(),
            &json!({"jti": BOOTSTRAP_ID, "sub": BOOTSTRAP_SUBJECT, "iat": now, "nbf": nbf}),
            s.secret.bytes(),
        );
        assert_eq!(admin_statuses(&s, &sdk).await.0, 200);
        assert_eq!(verify_status(&s, &sdk).await, 401, "not an account token");
    }
}

#[tokio::test]
async fn the_bootstrap_token_lives_a_bounded_time() {
    let s = TestServer::start_manual().await;
    let now = s.now().timestamp();
    let sdk = forge(
        &header(),
        &json!({"jti": BOOTSTRAP_ID, "sub": BOOTSTRAP_SUBJECT, "iat": now, "nbf": now}),
        s.secret.bytes(),
    );
    s.advance(Duration::hours(23));
    assert_eq!(admin_statuses(&s, &sdk).await.0, 200);
    s.advance(Duration::hours(1) + Duration::seconds(5));
    assert_eq!(admin_statuses(&s, &sdk).await.0, 401, "older than 24 h");
    let now = s.now().timestamp();
    for claims in [
        json!({"jti": BOOTSTRAP_ID, "sub": BOOTSTRAP_SUBJECT}),
        json!({"sub": BOOTSTRAP_SUBJECT, "iat": now, "nbf": now}),
        json!({"jti": BOOTSTRAP_ID, "iat": now, "nbf": now}),
        json!({"jti": BOOTSTRAP_ID.to_uppercase(), "sub": BOOTSTRAP_SUBJECT, "iat": now}),
        json!({"jti": BOOTSTRAP_ID, "sub": BOOTSTRAP_SUBJECT, "iat": now, "scope": "x"}),
        json!({"jti": BOOTSTRAP_ID, "sub": BOOTSTRAP_SUBJECT, "iat": now - 86400 * 2, "exp": now + 60}),
    ] {
        let jwt = forge(&header(), &claims, s.secret.bytes());
        assert_eq!(admin_statuses(&s, &jwt).await.0, 401, "{claims}");
    }
}

#[tokio::test]
async fn a_deleted_accounts_token_never_verifies_again_when_its_id_is_reused_in_the_same_second() {
    let s = TestServer::start_manual().await;
    let create = async || {
        s.json(
            paths::CREATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": "reused", "userId": "ci-bot"}}),
        )
        .await
    };
    let delete = async || {
        let (status, _) = s
            .json(paths::DELETE_SERVICE_ACCOUNT, json!({"id": "reused"}))
            .await;
        assert_eq!(status, 200);
    };
    let (status, body) = create().await;
    assert_eq!(status, 200, "{body}");
    let first = body["jwt"].as_str().unwrap().to_string();
    assert_eq!(verify_status(&s, &first).await, 200);
    delete().await;
    assert_eq!(verify_status(&s, &first).await, 401);

    let (status, body) = create().await;
    assert_eq!(status, 200, "{body}");
    let second = body["jwt"].as_str().unwrap().to_string();
    assert_ne!(
        second, first,
        "a re-created account gets a token of its own"
    );
    assert_eq!(verify_status(&s, &second).await, 200);
    assert_eq!(
        verify_status(&s, &first).await,
        401,
        "the deleted account's token verifies again"
    );
    assert_eq!(inspect(&s, &first).await, "superseded");

    // Rotations push the issue time ahead of the clock (never past the leeway); a deletion then a re-creation
    // must still issue after all of them, and says when to retry if it cannot yet.
    let mut old = vec![first, second];
    loop {
        let (status, body) = s
            .json(
                paths::UPDATE_SERVICE_ACCOUNT,
                json!({"serviceAccount": {"id": "reused", "description": "r"}, "updateMask": "description", "rotate": true}),
            )
            .await;
        if status != 200 {
            assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")));
            assert!(
                body["message"].as_str().unwrap().contains("retry in"),
                "{body}"
            );
            break;
        }
        old.push(body["jwt"].as_str().unwrap().to_string());
        assert!(old.len() < 20, "rotations are bounded");
    }
    delete().await;
    let (status, body) = create().await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")));
    assert!(
        body["message"].as_str().unwrap().contains("retry in 1 s"),
        "{body}"
    );
    s.advance(Duration::seconds(1));
    let (status, body) = create().await;
    assert_eq!(status, 200, "{body}");
    let newest = body["jwt"].as_str().unwrap().to_string();
    assert_eq!(verify_status(&s, &newest).await, 200);
    for (i, jwt) in old.iter().enumerate() {
        assert_ne!(*jwt, newest);
        assert_eq!(verify_status(&s, jwt).await, 401, "token #{i} came back");
    }
}

#[tokio::test]
async fn the_store_refuses_the_bootstrap_identity_and_issues_after_tombstones() {
    use sacon::model::ServiceAccount;
    use sacon::store::{Change, SqliteStore, Store, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    let root = store.list_namespaces().await.unwrap().remove(0).id;
    let now = crate::support::t0();
    let change = Change::by("test", now);
    let account = |id: &str, user: &str| ServiceAccount {
        id: id.into(),
        namespace_id: root.clone(),
        originator_id: String::new(),
        description: String::new(),
        user_id: user.into(),
        expires_at: None,
        created_at: now,
        modified_at: now,
        accessed_at: None,
        disabled: false,
    };
    for (id, user) in [
        (BOOTSTRAP_ID.to_uppercase(), "u".to_string()),
        ("a".into(), BOOTSTRAP_SUBJECT.to_uppercase()),
    ] {
        assert!(matches!(
            store
                .create_account(&account(&id, &user), now, &change)
                .await,
            Err(StoreError::InvalidArgument(_))
        ));
    }
    let rec = store
        .create_account(&account("a", "u"), now, &change)
        .await
        .unwrap();
    assert_eq!(rec.issued_at, now);
    assert!(store.delete_account("a", &change).await.unwrap());
    let rec = store
        .create_account(&account("a", "u"), now, &change)
        .await
        .unwrap();
    assert_eq!(rec.issued_at, now + Duration::seconds(1));
    store.close().await;

    // Below the store's own checks, the schema refuses them from any writer.
    let db = rusqlite::Connection::open(&path).unwrap();
    let insert = |id: &str, user: &str, issued: i64| {
        db.execute(
            "INSERT INTO service_accounts (id, namespace_id, user_id, created_at, modified_at, issued_at) \
             VALUES (?1, ?2, ?3, 0, 0, ?4)",
            rusqlite::params![id, root, user, issued],
        )
    };
    assert!(insert(BOOTSTRAP_ID, "u", 0).is_err());
    assert!(insert("b", &BOOTSTRAP_SUBJECT.to_uppercase(), 0).is_err());
    db.execute("DELETE FROM service_accounts WHERE id = 'a'", [])
        .unwrap();
    // As if the store had deleted the account issued a second after `now`.
    db.execute(
        "UPDATE account_tombstones SET issued_at = ?1 WHERE id = 'a'",
        [now.timestamp_micros() + 1_000_000],
    )
    .unwrap();
    assert!(insert("a", "u", now.timestamp_micros() + 1_000_000).is_err());
    insert("a", "u", now.timestamp_micros() + 2_000_000).unwrap();
    assert!(
        db.execute(
            "UPDATE service_accounts SET user_id = ?1 WHERE id = 'a'",
            [BOOTSTRAP_SUBJECT]
        )
        .is_err()
    );
}

#[tokio::test]
async fn tokens_signed_with_the_secret_are_read_strictly() {
    let s = TestServer::start_manual().await;
    let (status, body) = s
        .json(
            paths::CREATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": "acc", "userId": "u"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let good = body["jwt"].as_str().unwrap().to_string();
    let key = s.secret.bytes();
    let now = s.now().timestamp();
    let year = 366 * 86400;
    let account = |extra: Value| {
        let mut c = json!({"jti": "acc", "sub": "u", "iat": now, "nbf": now});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    assert_eq!(
        verify_status(&s, &forge(&header(), &account(json!({})), key)).await,
        200,
        "the forge makes the account's real token, up to claim order"
    );
    let crit = json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"]});
    let hostile: Vec<(&str, String)> = vec![
        (
            "nbf 2^62",
            forge(&header(), &account(json!({"nbf": 1i64 << 62})), key),
        ),
        (
            "exp 2^62",
            forge(&header(), &account(json!({"exp": 1i64 << 62})), key),
        ),
        (
            "exp past 9999",
            forge(&header(), &account(json!({"exp": 253402300800i64})), key),
        ),
        (
            "iat a year ahead",
            forge(&header(), &account(json!({"iat": now + year})), key),
        ),
        (
            "iat within the leeway, after the issue time",
            forge(&header(), &account(json!({"iat": now + 3})), key),
        ),
        ("crit header", forge(&crit, &account(json!({})), key)),
        (
            "exp null",
            forge(&header(), &account(json!({"exp": null})), key),
        ),
        (
            "exp float",
            forge(&header(), &account(json!({"exp": now as f64 + 60.0})), key),
        ),
        (
            "exp string",
            forge(
                &header(),
                &account(json!({"exp": (now + 60).to_string()})),
                key,
            ),
        ),
        (
            "iat float",
            forge(&header(), &account(json!({"iat": now as f64})), key),
        ),
        (
            "nbf negative",
            forge(&header(), &account(json!({"nbf": -1})), key),
        ),
        (
            "unknown claim",
            forge(&header(), &account(json!({"scope": "admin"})), key),
        ),
        (
            "typ null",
            forge(
                &json!({"alg": "HS256", "typ": null}),
                &account(json!({})),
                key,
            ),
        ),
    ];
    for (what, jwt) in &hostile {
        assert_eq!(verify_status(&s, jwt).await, 401, "{what} verifies");
    }
    assert_eq!(
        inspect(&s, &hostile[3].1).await,
        "issued_in_future",
        "iat a year ahead"
    );
    assert_eq!(inspect(&s, &hostile[4].1).await, "not_issued_here");
    assert_eq!(inspect(&s, &hostile[0].1).await, "malformed");

    // A rotation supersedes every earlier token, whatever `iat` it claims.
    s.advance(Duration::seconds(1));
    let (status, body) = s
        .json(
            paths::UPDATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": "acc", "description": "rotated"}, "updateMask": "description", "rotate": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rotated = body["jwt"].as_str().unwrap().to_string();
    assert_eq!(verify_status(&s, &rotated).await, 200);
    assert_eq!(verify_status(&s, &good).await, 401);
    for (what, jwt) in &hostile {
        assert_eq!(
            verify_status(&s, jwt).await,
            401,
            "{what} survives a rotation"
        );
    }
    s.advance(Duration::days(366));
    assert_eq!(
        verify_status(&s, &hostile[3].1).await,
        401,
        "the year-ahead token when its year comes"
    );

    // The same strictness for the admin tokens.
    let now = s.now().timestamp();
    let boot = |extra: Value| {
        let mut c = json!({"jti": BOOTSTRAP_ID, "sub": BOOTSTRAP_SUBJECT, "iat": now, "nbf": now});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    assert_eq!(
        admin_statuses(&s, &forge(&header(), &boot(json!({})), key))
            .await
            .0,
        200
    );
    assert_eq!(
        admin_statuses(&s, &forge(&header(), &json!({"exp": now + 60}), key))
            .await
            .1,
        200
    );
    for (what, claims, head) in [
        ("nbf 2^62", boot(json!({"nbf": 1i64 << 62})), header()),
        ("exp null", boot(json!({"exp": null})), header()),
        (
            "iat a year ahead",
            boot(json!({"iat": now + year})),
            header(),
        ),
        ("iat float", boot(json!({"iat": now as f64})), header()),
        ("crit header", boot(json!({})), crit.clone()),
    ] {
        let jwt = forge(&head, &claims, key);
        assert_eq!(
            admin_statuses(&s, &jwt).await.0,
            401,
            "bootstrap with {what}"
        );
    }
    for (what, claims, head) in [
        ("exp past 9999", json!({"exp": 253402300800i64}), header()),
        ("exp float", json!({"exp": now as f64 + 60.0}), header()),
        ("crit header", json!({"exp": now + 60}), crit.clone()),
    ] {
        let jwt = forge(&head, &claims, key);
        assert_eq!(
            admin_statuses(&s, &jwt).await.1,
            401,
            "exp-only with {what}"
        );
    }
}
