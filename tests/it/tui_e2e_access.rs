//! End-to-end, the console's access step on the real binary in tmux: a route and its policy made through the
//! API on the same data directory, a new account granted access from its token view, then `/verify` lets its
//! saved token through that route and refuses it elsewhere, the detail says what it reaches, and the policies
//! screen names it.

use sacon::api::{Client, ClientOptions, Credentials, wire};
use sacon::server::{self, ServerConfig};
use sacon::token::SharedSecret;

use crate::support::tmux::{Console, open_platform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_account_is_granted_a_route_from_its_token_view() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let socket = format!("sacon-e2e-access-{}", std::process::id());
    let console = Console::start(&socket, &data_dir, &work);
    console.wait("the namespace picker with counts", |s| {
        s.contains("Namespaces (") && s.contains("accounts")
    });

    // A server of our own on the same data directory: a route in Platform guarded by a policy naming nobody.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = server::start(ServerConfig::new(&data_dir), listener)
        .await
        .unwrap();
    let secret = SharedSecret::load(&data_dir.join("shared_secret")).unwrap();
    let client = Client::new(
        &handle.url(),
        Credentials::SharedSecret(secret),
        ClientOptions::default(),
    )
    .unwrap();
    let platform = client
        .list_namespaces()
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.name == "Platform")
        .unwrap()
        .id;
    let policy = client
        .set_policy(wire::Policy {
            name: "reports-readers".into(),
            namespace_id: platform.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .set_route(wire::Route {
            name: "reports".into(),
            namespace_id: platform.clone(),
            from: "https://reports.example.com".into(),
            policy_ids: vec![policy.id.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .set_route(wire::Route {
            name: "billing".into(),
            namespace_id: platform.clone(),
            from: "https://billing.example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    open_platform(&console);
    console.create_unique("grant-bot", "reads reports");
    // g: the choices of its namespace; the policy first.
    console.keys(&["g"]);
    console.wait_for("Grant access to grant-bot");
    console.wait_for("add to policy reports-readers");
    console.keys(&["Enter"]);
    console.wait_for("grant-bot may now use what policy reports-readers guards");
    // The token is still there, and still to be kept.
    console.keys(&["s"]);
    console.wait_for("Save to");
    console.keys(&["Enter"]);
    console.wait_for("(mode 0600)");
    console.keys(&["Escape"]);
    console.wait_for("token view closed");

    let jwt = std::fs::read_to_string(work.join("grant-bot.jwt")).unwrap();
    let verify = |url: &str| {
        let req = reqwest::Client::new()
            .get(format!("{}/verify", handle.url()))
            .header("Authorization", format!("Pomerium {}", jwt.trim()))
            .header("X-Original-URL", url);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(verify("https://reports.example.com/q1").await, 200);
    assert_eq!(verify("https://billing.example.com/").await, 403);

    // The detail says what it reaches, and through which policy.
    console.keys(&["/"]);
    console.text("grant-bot");
    console.wait("the one row", |s| {
        s.contains("1/1") && s.contains("grant-bot")
    });
    console.keys(&["Enter"]);
    console.keys(&["Enter"]);
    console.wait_for("reports (https://reports.example.com) via reports-readers");
    console.keys(&["Escape"]);
    console.wait("the detail closed", |s| !s.contains("History ·"));
    // The policies screen names it.
    console.keys(&["p"]);
    let screen = console.wait("the policies", |s| {
        s.contains("Policies of Global › Engineering › Platform") && s.contains("reports-readers")
    });
    let row = screen
        .lines()
        .find(|l| l.contains("reports-readers"))
        .unwrap();
    assert!(row.contains("grant-bot"), "{row}");
    console.keys(&["Escape"]);
    console.wait_for("Accounts ·");
    console.keys(&["q"]);
    console.wait_exit();
    handle.shutdown().await;
}
