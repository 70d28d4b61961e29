//! Access decided by sacon's `/verify` behind real proxies: nginx (`auth_request`, the target passed as
//! `X-Original-URL` and `X-Forwarded-*`) and Caddy from Debian's packages (`forward_auth`, which sends
//! `X-Forwarded-Method/-Proto/-Host/-Uri` itself). Two upstream routes, each guarded by its own policy: one
//! account is let through to the route whose policy names it and refused on the other, in each of the three
//! header forms, through each proxy; removing it from the policy refuses it at the next request.

use axum::http::HeaderMap;
use sacon::api::wire;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::proxy::Proxy;

/// The upstream of both routes: answers with the host it was asked for and the identity passed on.
async fn start_upstream() -> u16 {
    let app = axum::Router::new().fallback(|headers: HeaderMap| async move {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        format!("{} sees {}", get("host"), get("x-sacon-user"))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// nginx guarding every host with `auth_request`, passing the original target to `/verify`.
fn start_nginx(sacon: &str, upstream: u16) -> Proxy {
    Proxy::nginx(|_| {
        format!(
            "location = /_verify {{
                internal;
                proxy_pass {sacon}/verify;
                proxy_pass_request_body off;
                proxy_set_header Content-Length \"\";
                proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
                proxy_set_header X-Forwarded-Host $http_host;
                proxy_set_header X-Forwarded-Proto $scheme;
                proxy_set_header X-Forwarded-Uri $request_uri;
            }}
            location / {{
                auth_request /_verify;
                auth_request_set $sacon_user $upstream_http_x_sacon_user;
                proxy_set_header X-Sacon-User $sacon_user;
                proxy_set_header Host $http_host;
                proxy_pass http://127.0.0.1:{upstream};
            }}"
        )
    })
}

/// Caddy guarding every host with `forward_auth` (which sends the target as `X-Forwarded-*` itself).
fn start_caddy(sacon_port: u16, upstream: u16) -> Proxy {
    Proxy::caddy(|_| {
        format!(
            "forward_auth 127.0.0.1:{sacon_port} {{
                uri /verify
                copy_headers X-Sacon-User
            }}
            reverse_proxy 127.0.0.1:{upstream}"
        )
    })
}

/// A policy allowing `users`, in `ns`; its id.
async fn policy(s: &TestServer, ns: &str, name: &str, users: &[&str]) -> String {
    let (status, body) = s
        .json(
            "/pomerium.dashboard.PolicyService/SetPolicy",
            json!({"policy": {"name": name, "namespaceId": ns, "allowedUsers": users}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["policy"]["id"].as_str().unwrap().to_string()
}

/// A route from `from` guarded by `policy`, in `ns`.
async fn route(s: &TestServer, ns: &str, name: &str, from: &str, policy: &str) {
    let (status, body) = s
        .json(
            "/pomerium.dashboard.RouteService/SetRoute",
            json!({"route": {"name": name, "from": from, "namespaceId": ns, "policyIds": [policy]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// `GET /data` through the proxy for `host` (with its port, as a browser sends it), with one header form of
/// `jwt`.
async fn through(
    s: &TestServer,
    proxy: &Proxy,
    host: &str,
    header: (&str, String),
) -> (u16, String) {
    let resp = s
        .http
        .get(format!("http://127.0.0.1:{}/data", proxy.port))
        .header("Host", host)
        .header(header.0, header.1)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn forms(jwt: &str) -> [(&'static str, String); 3] {
    [
        ("Authorization", format!("Bearer Pomerium-{jwt}")),
        ("X-Pomerium-Authorization", jwt.to_string()),
        ("Authorization", format!("Pomerium {jwt}")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_and_caddy_let_an_account_reach_only_the_route_its_policy_grants() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let (_, jwt) = s
        .admin()
        .create_account(wire::ServiceAccount {
            user_id: Some("reports-bot".into()),
            namespace_id: Some(root.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let jwt = jwt.to_string();
    let upstream = start_upstream().await;
    let sacon_port: u16 = s.url.rsplit(':').next().unwrap().parse().unwrap();
    let nginx = start_nginx(&s.url, upstream);
    let caddy = start_caddy(sacon_port, upstream);

    for proxy in [&nginx, &caddy] {
        let reports = format!("reports.test:{}", proxy.port);
        let billing = format!("billing.test:{}", proxy.port);
        let allow = policy(
            &s,
            &root,
            &format!("reports {}", proxy.port),
            &["reports-bot"],
        )
        .await;
        let other = policy(
            &s,
            &root,
            &format!("billing {}", proxy.port),
            &["billing-bot"],
        )
        .await;
        route(
            &s,
            &root,
            &format!("reports {}", proxy.port),
            &format!("http://{reports}"),
            &allow,
        )
        .await;
        route(
            &s,
            &root,
            &format!("billing {}", proxy.port),
            &format!("http://{billing}"),
            &other,
        )
        .await;
        let which = proxy.name;
        for header in forms(&jwt) {
            let (status, body) = through(&s, proxy, &reports, header.clone()).await;
            assert_eq!(
                (status, body.as_str()),
                (200, format!("{reports} sees reports-bot").as_str()),
                "{which}, {}; proxy log:\n{}",
                header.0,
                proxy.log()
            );
            let (status, _) = through(&s, proxy, &billing, header.clone()).await;
            assert_eq!(status, 403, "{which}, {}: not granted there", header.0);
        }
        // No token at all: 401 on both.
        let resp = s
            .http
            .get(format!("http://127.0.0.1:{}/data", proxy.port))
            .header("Host", &reports)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{which}");
        // Taken out of the policy, it is refused at the very next request.
        let (status, body) = s
            .json(
                "/pomerium.dashboard.PolicyService/GetPolicy",
                json!({"id": allow}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut p: Value = body["policy"].clone();
        p["allowedUsers"] = json!(["someone-else"]);
        let (status, body) = s
            .json(
                "/pomerium.dashboard.PolicyService/SetPolicy",
                json!({"policy": p}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = through(&s, proxy, &reports, forms(&jwt)[1].clone()).await;
        assert_eq!(status, 403, "{which}: removed from the policy");
    }
}
