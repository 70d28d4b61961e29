//! A real nginx protects a loopback upstream with `auth_request` to sacon's `/verify`: every header form reaches
//! the upstream, which sees `X-Sacon-User`; missing, forged, expired, deleted, rotated-out and wrong-namespace
//! tokens are stopped by nginx with 401 or 403.

use crate::support::TestServer;
use crate::support::proxy::Proxy;
use axum::http::HeaderMap;
use chrono::Duration;
use sacon::api::convert::chrono_to_timestamp;
use sacon::api::wire;

/// Starts nginx with `/` guarded by sacon and `/finance/` guarded for Global/Finance.
fn start_nginx(sacon: &str, upstream: u16) -> Proxy {
    let guard = |name: &str, query: &str| {
        format!(
            "location = /_verify_{name} {{
                internal;
                proxy_pass {sacon}/verify{query};
                proxy_pass_request_body off;
                proxy_set_header Content-Length \"\";
            }}"
        )
    };
    let protected = |path: &str, name: &str| {
        format!(
            "location {path} {{
                auth_request /_verify_{name};
                auth_request_set $sacon_user $upstream_http_x_sacon_user;
                proxy_set_header X-Sacon-User $sacon_user;
                proxy_pass http://127.0.0.1:{upstream};
            }}"
        )
    };
    Proxy::nginx(|_| {
        [
            guard("any", ""),
            guard("finance", "?namespace=Global/Finance"),
            protected("/", "any"),
            protected("/finance/", "finance"),
        ]
        .join("\n")
    })
}

/// The upstream: answers with the identity nginx passed on.
async fn start_upstream() -> u16 {
    let app = axum::Router::new().fallback(|headers: HeaderMap| async move {
        let user = headers
            .get("x-sacon-user")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        format!("upstream sees {user}")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_guards_an_upstream() {
    let s = TestServer::start_manual().await;
    let admin = s.admin();
    let root = s.root_id().await;
    let eng = admin
        .set_namespace("", &root, "Engineering")
        .await
        .unwrap()
        .id;
    let fin = admin.set_namespace("", &root, "Finance").await.unwrap().id;
    let upstream = start_upstream().await;
    let nginx = start_nginx(&s.url, upstream);
    let base = format!("http://127.0.0.1:{}", nginx.port);
    let make = |user: &str, ns: &str, expires: Option<Duration>| {
        let admin = s.admin();
        let account = wire::ServiceAccount {
            user_id: Some(user.into()),
            namespace_id: Some(ns.into()),
            expires_at: expires.map(|d| chrono_to_timestamp(s.now() + d)),
            ..Default::default()
        };
        async move {
            let (a, jwt) = admin.create_account(account).await.unwrap();
            (a.id, jwt.to_string())
        }
    };
    let get = |path: &str, header: Option<(&str, String)>| {
        let mut req = s.http.get(format!("{base}{path}"));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };

    let (_, jwt) = make("eng-bot", &eng, None).await;
    for header in [
        ("Authorization", format!("Bearer Pomerium-{jwt}")),
        ("X-Pomerium-Authorization", jwt.clone()),
        ("Authorization", format!("Pomerium {jwt}")),
    ] {
        let (status, body) = get("/app", Some(header.clone())).await;
        assert_eq!(
            (status, body.as_str()),
            (200, "upstream sees eng-bot"),
            "{}",
            header.0
        );
    }

    // Missing and forged.
    assert_eq!(get("/app", None).await.0, 401);
    let forged = sacon::token::sign_service_account(
        &sacon::token::SharedSecret::generate(),
        "x",
        "eng-bot",
        s.now(),
        None,
    );
    assert_eq!(
        get(
            "/app",
            Some(("X-Pomerium-Authorization", forged.to_string()))
        )
        .await
        .0,
        401
    );
    // Wrong namespace: 403; the right one (or a token from its ancestor) passes.
    assert_eq!(
        get(
            "/finance/report",
            Some(("X-Pomerium-Authorization", jwt.clone()))
        )
        .await
        .0,
        403
    );
    let (_, fin_jwt) = make("fin-bot", &fin, None).await;
    let (status, body) = get(
        "/finance/report",
        Some(("X-Pomerium-Authorization", fin_jwt)),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "upstream sees fin-bot"));
    // Deleted.
    let (gone_id, gone_jwt) = make("gone-bot", &eng, None).await;
    assert_eq!(
        get("/app", Some(("X-Pomerium-Authorization", gone_jwt.clone())))
            .await
            .0,
        200
    );
    s.admin().delete_account(&gone_id).await.unwrap();
    assert_eq!(
        get("/app", Some(("X-Pomerium-Authorization", gone_jwt)))
            .await
            .0,
        401
    );
    // Rotated out.
    let (rot_id, old_jwt) = make("rot-bot", &eng, None).await;
    s.advance(Duration::seconds(2));
    let (_, new_jwt) = s.admin().rotate_account(&rot_id).await.unwrap();
    assert_eq!(
        get("/app", Some(("X-Pomerium-Authorization", old_jwt)))
            .await
            .0,
        401
    );
    assert_eq!(
        get(
            "/app",
            Some(("X-Pomerium-Authorization", new_jwt.to_string()))
        )
        .await
        .0,
        200
    );
    // Expired.
    let (_, short_jwt) = make("short-bot", &eng, Some(Duration::minutes(1))).await;
    assert_eq!(
        get(
            "/app",
            Some(("X-Pomerium-Authorization", short_jwt.clone()))
        )
        .await
        .0,
        200
    );
    s.advance(Duration::minutes(2));
    assert_eq!(
        get("/app", Some(("X-Pomerium-Authorization", short_jwt)))
            .await
            .0,
        401
    );
}
