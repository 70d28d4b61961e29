//! `/verify` over real HTTP: the three header forms, every rejection with its status, namespace scoping through a
//! three-level tree, rotation with and without grace on a hand-set clock, revocation on delete, throttled
//! `accessedAt`, `InspectToken` verdicts, and a corpus of hostile tokens.

use crate::support::{TestServer, forge};
use chrono::Duration;
use sacon::api::convert::chrono_to_timestamp;
use sacon::api::wire;
use serde_json::json;

struct Tree {
    global: String,
    eng: String,
    platform: String,
    finance: String,
}

async fn tree(s: &TestServer) -> Tree {
    let admin = s.admin();
    let global = s.root_id().await;
    let eng = admin
        .set_namespace("", &global, "Engineering")
        .await
        .unwrap()
        .id;
    let platform = admin.set_namespace("", &eng, "Platform").await.unwrap().id;
    let finance = admin
        .set_namespace("", &global, "Finance")
        .await
        .unwrap()
        .id;
    Tree {
        global,
        eng,
        platform,
        finance,
    }
}

async fn create(
    s: &TestServer,
    user: &str,
    ns: &str,
    expires_in: Option<Duration>,
) -> (String, String) {
    let (a, jwt) = s
        .admin()
        .create_account(wire::ServiceAccount {
            user_id: Some(user.into()),
            namespace_id: Some(ns.into()),
            expires_at: expires_in.map(|d| chrono_to_timestamp(s.now() + d)),
            ..Default::default()
        })
        .await
        .unwrap();
    (a.id, jwt.to_string())
}

fn bearer(jwt: &str) -> String {
    format!("Bearer Pomerium-{jwt}")
}

#[tokio::test]
async fn each_header_form_is_accepted_with_identity_headers() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (id, jwt) = create(&s, "ci-bot", &t.eng, None).await;
    let pomerium = format!("Pomerium {jwt}");
    let bearer = bearer(&jwt);
    for headers in [
        vec![("X-Pomerium-Authorization", jwt.as_str())],
        vec![("Authorization", pomerium.as_str())],
        vec![("Authorization", bearer.as_str())],
    ] {
        let (status, h, body) = s.verify(&headers, "").await;
        assert_eq!(status, 200, "{headers:?}");
        assert_eq!(h["x-sacon-user"], "ci-bot");
        assert_eq!(h["x-sacon-account"], id.as_str());
        assert_eq!(h["x-sacon-namespace"], t.eng.as_str());
        assert_eq!(body, "ok\n");
    }
    // POST works too, and X-Pomerium-Authorization wins over a bad Authorization header.
    let resp = s
        .http
        .post(format!("{}/verify", s.url))
        .header("X-Pomerium-Authorization", &jwt)
        .header("Authorization", "Pomerium garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn rejections_have_uniform_bodies() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (id, jwt) = create(&s, "u", &t.eng, Some(Duration::hours(1))).await;
    let other = sacon::token::SharedSecret::generate();
    let forged = sacon::token::sign_service_account(&other, &id, "u", s.now(), None);
    let now = s.now().timestamp();
    let future = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"jti": id, "sub": "u", "iat": now + 60, "nbf": now + 60}),
        s.secret.bytes(),
    );
    let mut bodies = std::collections::HashSet::new();
    for (headers, why) in [
        (vec![], "no token"),
        (
            vec![("Authorization", "Bearer ".to_string() + &jwt)],
            "plain bearer is not a form",
        ),
        (
            vec![("Authorization", bearer(forged.as_str()))],
            "signed with another secret",
        ),
        (
            vec![("Authorization", bearer(&future))],
            "not valid yet beyond the leeway",
        ),
        (
            vec![("X-Pomerium-Authorization", "a.b.c".to_string())],
            "garbage",
        ),
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, resp_headers, body) = s.verify(&h, "").await;
        assert_eq!(status, 401, "{why}");
        assert!(resp_headers.get("x-sacon-user").is_none());
        bodies.insert(body);
    }
    // The account's own expiry, with 5 s of leeway.
    s.advance(Duration::hours(1) + Duration::seconds(4));
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await.0,
        200
    );
    s.advance(Duration::seconds(2));
    let (status, _, body) = s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await;
    assert_eq!(status, 401);
    bodies.insert(body);
    assert_eq!(bodies.len(), 1, "one uniform body for 401: {bodies:?}");
}

#[tokio::test]
async fn delete_revokes_at_once() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (id, jwt) = create(&s, "u", &t.global, None).await;
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await.0,
        200
    );
    s.admin().delete_account(&id).await.unwrap();
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await.0,
        401
    );
}

#[tokio::test]
async fn namespace_scoping_through_three_levels() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (_, jwt) = create(&s, "eng-bot", &t.eng, None).await;
    let (_, root_jwt) = create(&s, "root-bot", &t.global, None).await;
    let h = [("X-Pomerium-Authorization", jwt.as_str())];
    // Usable where it was created and in every descendant, by id or path, header or query.
    assert_eq!(
        s.verify(&[h[0], ("X-Sacon-Namespace", t.eng.as_str())], "")
            .await
            .0,
        200
    );
    assert_eq!(
        s.verify(&[h[0], ("X-Sacon-Namespace", t.platform.as_str())], "")
            .await
            .0,
        200
    );
    assert_eq!(
        s.verify(&h, "?namespace=Global/Engineering/Platform")
            .await
            .0,
        200
    );
    assert_eq!(
        s.verify(&[h[0], ("X-Sacon-Namespace", "Engineering/Platform")], "")
            .await
            .0,
        200
    );
    // Not in an ancestor or a sibling, nor in a namespace that does not exist.
    let (status, _, body) = s
        .verify(&[h[0], ("X-Sacon-Namespace", t.global.as_str())], "")
        .await;
    assert_eq!((status, body.as_str()), (403, "forbidden\n"));
    assert_eq!(
        s.verify(&[h[0], ("X-Sacon-Namespace", t.finance.as_str())], "")
            .await
            .0,
        403
    );
    assert_eq!(s.verify(&h, "?namespace=Global/Finance").await.0, 403);
    assert_eq!(s.verify(&h, "?namespace=Nowhere").await.0, 403);
    // A root account works everywhere.
    let rh = ("X-Pomerium-Authorization", root_jwt.as_str());
    assert_eq!(
        s.verify(&[rh, ("X-Sacon-Namespace", t.platform.as_str())], "")
            .await
            .0,
        200
    );
    assert_eq!(
        s.verify(&[rh, ("X-Sacon-Namespace", t.finance.as_str())], "")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn rotation_without_and_with_grace() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (id, first) = create(&s, "u", &t.eng, None).await;
    let ok = |jwt: &str| {
        let jwt = jwt.to_string();
        let s = &s;
        async move { s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await.0 }
    };
    // Without grace: the old token stops at once, the new one works.
    s.advance(Duration::seconds(10));
    let (_, second) = s.admin().rotate_account(&id).await.unwrap();
    assert_eq!(ok(&first).await, 401);
    assert_eq!(ok(&second).await, 200);
    // With 10 minutes of grace: both work until the grace ends, then only the new one.
    s.advance(Duration::seconds(10));
    let (_, third) = s
        .admin()
        .rotate_account_with_grace(&id, Some(std::time::Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(ok(&second).await, 200);
    assert_eq!(ok(&third).await, 200);
    assert_eq!(
        ok(&first).await,
        401,
        "a grace period never revives a token already superseded"
    );
    s.advance(Duration::seconds(599));
    assert_eq!(ok(&second).await, 200);
    s.advance(Duration::seconds(2));
    assert_eq!(ok(&second).await, 401);
    assert_eq!(ok(&third).await, 200);
    // A rotation without grace during a grace period ends it.
    s.advance(Duration::seconds(10));
    let (_, fourth) = s
        .admin()
        .rotate_account_with_grace(&id, Some(std::time::Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(ok(&third).await, 200);
    s.advance(Duration::seconds(1));
    let (_, fifth) = s.admin().rotate_account(&id).await.unwrap();
    assert_eq!(
        (ok(&third).await, ok(&fourth).await, ok(&fifth).await),
        (401, 401, 200)
    );
    // Rotation does not count as use.
    let a = s.admin().get_account(&id).await.unwrap();
    assert!(a.accessed_at.is_some(), "the verifies above were use");
    let (fresh, _) = create(&s, "v", &t.eng, None).await;
    s.admin().rotate_account(&fresh).await.unwrap();
    assert_eq!(
        s.admin().get_account(&fresh).await.unwrap().accessed_at,
        None
    );
    // An out-of-range grace is refused.
    let err = s
        .admin()
        .rotate_account_with_grace(&id, Some(std::time::Duration::from_secs(31 * 86400)))
        .await
        .unwrap_err();
    assert_eq!(err.code, sacon::api::Code::InvalidArgument);
}

#[tokio::test]
async fn accessed_at_is_recorded_and_throttled() {
    let s = TestServer::start_manual().await;
    let root = s.root_id().await;
    let (id, jwt) = create(&s, "u", &root, None).await;
    let accessed = || async { s.admin().get_account(&id).await.unwrap().accessed_at };
    assert_eq!(accessed().await, None, "creation is not use");
    let t1 = s.now();
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await.0,
        200
    );
    assert_eq!(accessed().await, Some(t1));
    s.advance(Duration::seconds(2));
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await.0,
        200
    );
    assert_eq!(
        accessed().await,
        Some(t1),
        "a second use within the interval is not written"
    );
    s.advance(Duration::seconds(4));
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await.0,
        200
    );
    assert_eq!(accessed().await, Some(t1 + Duration::seconds(6)));
    // A refused token is not use.
    s.advance(Duration::seconds(10));
    assert_eq!(
        s.verify(
            &[
                ("X-Pomerium-Authorization", &jwt),
                ("X-Sacon-Namespace", "Nowhere")
            ],
            ""
        )
        .await
        .0,
        403
    );
    assert_eq!(accessed().await, Some(t1 + Duration::seconds(6)));
}

#[tokio::test]
async fn inspect_token_verdicts() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let verdict = |jwt: String, ns: Option<&'static str>| {
        let admin = s.admin();
        async move {
            let r = admin.inspect_token(&jwt, ns).await.unwrap();
            (r.verdict.clone(), r.reason.clone())
        }
    };
    let (id, jwt) = create(&s, "u", &t.eng, Some(Duration::hours(1))).await;
    assert_eq!(verdict(jwt.clone(), None).await.0, "valid");
    let other = sacon::token::SharedSecret::generate();
    assert_eq!(
        verdict(
            sacon::token::sign_service_account(&other, &id, "u", s.now(), None).to_string(),
            None
        )
        .await
        .0,
        "bad_signature"
    );
    assert_eq!(verdict("not-a-jwt".into(), None).await.0, "malformed");
    assert_eq!(
        verdict(jwt.clone(), Some("Global/Finance")).await.0,
        "outside_namespace"
    );
    let unknown =
        sacon::token::sign_service_account(&s.secret, "nope", "u", s.now(), None).to_string();
    assert_eq!(verdict(unknown, None).await.0, "unknown_account");
    // Superseded, then expired, then deleted — with who and when.
    s.advance(Duration::seconds(5));
    let (_, rotated) = s.admin().rotate_account(&id).await.unwrap();
    let (v, reason) = verdict(jwt.clone(), None).await;
    assert_eq!(v, "superseded");
    assert!(reason.contains("rotation"), "{reason}");
    s.advance(Duration::hours(2));
    // The token carries the account's expiry, so it is the token's own `exp` that has passed.
    assert_eq!(verdict(rotated.to_string(), None).await.0, "token_expired");
    // Inspecting is not use.
    let (id2, jwt2) = create(&s, "w", &t.eng, None).await;
    assert_eq!(verdict(jwt2.clone(), None).await.0, "valid");
    assert_eq!(s.admin().get_account(&id2).await.unwrap().accessed_at, None);
    s.admin().delete_account(&id2).await.unwrap();
    let (v, reason) = verdict(jwt2, None).await;
    assert_eq!(v, "deleted");
    assert!(
        reason.contains("by root") && reason.contains(&id2),
        "{reason}"
    );
}

#[tokio::test]
async fn hostile_tokens_are_all_rejected_and_the_server_keeps_serving() {
    use base64::Engine;
    let s = TestServer::start_manual().await;
    let root = s.root_id().await;
    let (id, good) = create(&s, "u", &root, None).await;
    let key = s.secret.bytes().to_vec();
    let now = s.now().timestamp();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let claims = json!({"jti": id, "sub": "u", "iat": now, "nbf": now});
    let parts: Vec<&str> = good.split('.').collect();
    let mut corpus: Vec<String> = Vec::new();
    // Other algorithms, including none, with and without a signature.
    for alg in [
        "none", "None", "NONE", "HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA", "",
    ] {
        let header = b64(&serde_json::to_vec(&json!({"alg": alg, "typ": "JWT"})).unwrap());
        corpus.push(format!("{header}.{}.", parts[1]));
        corpus.push(format!("{header}.{}.{}", parts[1], parts[2]));
    }
    corpus.push(forge(&json!({"typ": "JWT"}), &claims, &key));
    // Bad signatures.
    corpus.push(format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        parts[2].chars().rev().collect::<String>()
    ));
    corpus.push(format!("{}.{}.", parts[0], parts[1]));
    corpus.push(format!("{}.{}.AAAA", parts[0], parts[1]));
    corpus.push(forge(&hs, &claims, b"wrong key"));
    corpus.push(forge(&hs, &claims, &[]));
    // A valid signature over tampered claims.
    let tampered = b64(&serde_json::to_vec(
        &json!({"jti": id, "sub": "admin", "iat": now, "nbf": now}),
    )
    .unwrap());
    corpus.push(format!("{}.{tampered}.{}", parts[0], parts[2]));
    // Claims of the wrong type, or missing.
    for c in [
        json!({"jti": id, "sub": "u", "iat": now, "nbf": now, "exp": "never"}),
        json!({"jti": id, "sub": "u", "iat": now, "nbf": now, "exp": now as f64 + 3600.5}),
        json!({"jti": id, "sub": "u", "iat": "now", "nbf": now}),
        json!({"jti": id, "sub": "u", "iat": now, "nbf": "now"}),
        json!({"jti": 42, "sub": "u", "iat": now, "nbf": now}),
        json!({"jti": id, "sub": ["u"], "iat": now, "nbf": now}),
        json!({"jti": null, "sub": "u", "iat": now, "nbf": now}),
        json!({"sub": "u", "iat": now, "nbf": now}),
        json!({"jti": id, "iat": now, "nbf": now}),
        json!({"jti": id, "sub": "u", "nbf": now}),
        json!({"jti": id, "sub": "u", "iat": now}),
        json!({"jti": id, "sub": "u", "iat": now, "nbf": now, "exp": now - 3600}),
        json!({"jti": id, "sub": "u", "iat": now + 3600, "nbf": now + 3600}),
        json!({"jti": id, "sub": "other", "iat": now, "nbf": now}),
        json!({"jti": id, "sub": "u", "iat": now - 86400, "nbf": now - 86400}),
        json!([1, 2, 3]),
        json!("string"),
        json!({}),
    ] {
        corpus.push(forge(&hs, &c, &key));
    }
    // Structure: extra or missing segments, bad encodings, huge tokens.
    corpus.push(format!("{good}.extra"));
    corpus.push(format!("{}.{}", parts[0], parts[1]));
    corpus.push(parts[1].to_string());
    corpus.push(String::new());
    corpus.push("...".into());
    corpus.push(format!("{}!.{}.{}", parts[0], parts[1], parts[2]));
    corpus.push(format!("{}.{}.{}", b64(b"not json"), parts[1], parts[2]));
    corpus.push(format!("{}.{}.{}", parts[0], b64(b"{\"jti\":"), parts[2]));
    corpus.push(format!("{}.{}.{}", parts[0], "A".repeat(6000), parts[2]));
    corpus.push(forge(
        &hs,
        &json!({"jti": id, "sub": "u", "iat": now, "nbf": now, "pad": "x".repeat(6000)}),
        &key,
    ));
    corpus.push(format!(" {good}x"));
    assert!(corpus.len() >= 40, "{}", corpus.len());
    for (i, bad) in corpus.iter().enumerate() {
        for form in ["X-Pomerium-Authorization", "Authorization"] {
            let value = if form == "Authorization" {
                format!("Pomerium {bad}")
            } else {
                bad.clone()
            };
            let Ok(value) = reqwest::header::HeaderValue::from_str(&value) else {
                continue;
            };
            let resp = s
                .http
                .get(format!("{}/verify", s.url))
                .header(form, value)
                .send()
                .await
                .unwrap();
            assert_eq!(
                resp.status(),
                401,
                "token #{i} via {form} was not rejected: {bad:.80}"
            );
        }
    }
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", &good)], "").await.0,
        200,
        "still serving"
    );
}

/// Another process sharing the database (here a second store on the same file) disables, rotates, moves and
/// deletes while the server keeps answering: each change is in force at the server's very next check, though the
/// server keeps account records and the namespace tree between checks.
#[tokio::test]
async fn changes_by_another_process_are_in_force_at_the_next_check() {
    use sacon::store::{AccountPatch, Change, Reissue, Store};

    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (a, jwt_a) = create(&s, "a", &t.global, None).await;
    let (_, jwt_b) = create(&s, "b", &t.platform, None).await;
    let ok = |jwt: &str, query: &str| {
        let (jwt, query) = (jwt.to_string(), query.to_string());
        let s = &s;
        async move {
            s.verify(&[("X-Pomerium-Authorization", &jwt)], &query)
                .await
                .0
        }
    };
    for _ in 0..3 {
        assert_eq!(ok(&jwt_a, "").await, 200);
        assert_eq!(
            ok(&jwt_b, "?namespace=Global/Engineering/Platform").await,
            200
        );
    }
    let other = s.other_store().await;
    let change = || Change::by("other-process", s.now());
    let disable = |d: bool| AccountPatch {
        disabled: Some(d),
        ..AccountPatch::default()
    };

    other
        .update_account(&a, &disable(true), None, &change())
        .await
        .unwrap();
    assert_eq!(ok(&jwt_a, "").await, 401, "disabled elsewhere");
    other
        .update_account(&a, &disable(false), None, &change())
        .await
        .unwrap();
    assert_eq!(ok(&jwt_a, "").await, 200, "enabled again");

    // Platform moves under Finance: its old path names nothing any more, its new one does.
    other
        .update_namespace(&t.platform, "Platform", &t.finance, &change())
        .await
        .unwrap();
    assert_eq!(
        ok(&jwt_b, "?namespace=Global/Engineering/Platform").await,
        403
    );
    assert_eq!(ok(&jwt_b, "?namespace=Global/Finance/Platform").await, 200);
    // A namespace deleted elsewhere is unknown at once.
    assert_eq!(ok(&jwt_a, &format!("?namespace={}", t.eng)).await, 200);
    other.delete_namespace(&t.eng, &change()).await.unwrap();
    assert_eq!(ok(&jwt_a, &format!("?namespace={}", t.eng)).await, 403);

    // A rotation elsewhere (no grace) supersedes the token the server last accepted.
    other
        .update_account(
            &a,
            &AccountPatch::default(),
            Some(Reissue {
                issued_at: s.now() + Duration::seconds(10),
                grace_from: None,
                grace_until: None,
            }),
            &change(),
        )
        .await
        .unwrap();
    assert_eq!(ok(&jwt_a, "").await, 401, "rotated elsewhere");

    let (c, jwt_c) = create(&s, "c", &t.global, None).await;
    assert_eq!(ok(&jwt_c, "").await, 200);
    assert!(other.delete_account(&c, &change()).await.unwrap());
    assert_eq!(ok(&jwt_c, "").await, 401, "deleted elsewhere");
    other.close().await;
}
