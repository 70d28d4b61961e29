//! Disabling an account over real HTTP: `/verify` refuses its token with the verdict `disabled` (the status an
//! expired account gets) and the admin API refuses it as a caller, enabling brings the very same token back, the
//! change never needs a new token, each is audited as `disable` / `enable` with before and after, it takes the
//! `manager` role in the account's namespace, and lists filter on it.

use chrono::Duration;
use sacon::api::convert::chrono_to_timestamp;
use sacon::api::wire::{self, paths};
use sacon::api::{Client, ClientOptions, Code, Credentials, ListQuery};
use serde_json::json;
use zeroize::Zeroizing;

use crate::support::TestServer;

async fn verify(s: &TestServer, jwt: &str, query: &str) -> (u16, reqwest::header::HeaderMap) {
    let (status, headers, _) = s
        .verify(
            &[("Authorization", &format!("Bearer Pomerium-{jwt}"))],
            query,
        )
        .await;
    (status, headers)
}

/// A new account acting as `user_id` in `ns` (the root when empty), made by root; its id and token.
async fn made(s: &TestServer, ns: &str, user_id: &str) -> (String, String) {
    let (sa, jwt) = s
        .client
        .create_account(wire::ServiceAccount {
            user_id: Some(user_id.into()),
            namespace_id: (!ns.is_empty()).then(|| ns.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    (sa.id, jwt.to_string())
}

fn client_with(s: &TestServer, jwt: &str) -> Client {
    Client::new(
        &s.url,
        Credentials::Token(Zeroizing::new(jwt.to_string())),
        ClientOptions::default(),
    )
    .unwrap()
}

async fn verdict(s: &TestServer, jwt: &str, namespace: Option<&str>) -> (String, String) {
    let r = s.client.inspect_token(jwt, namespace).await.unwrap();
    (r.verdict, r.reason)
}

#[tokio::test]
async fn a_disabled_accounts_token_is_refused_until_it_is_enabled_again() {
    let s = TestServer::start_manual().await;
    let root = s.root_id().await;
    let eng = s
        .client
        .set_namespace("", &root, "Engineering")
        .await
        .unwrap();
    let (id, jwt) = made(&s, &eng.id, "deploy-bot").await;
    assert_eq!(verify(&s, &jwt, "").await.0, 200);
    let used = s.client.get_account(&id).await.unwrap().accessed_at;
    assert!(used.is_some());
    // Past the write throttle, so a check that counted as use would move `accessedAt`.
    s.advance(Duration::seconds(10));

    // Disabling answers with the account, marked, and no new token: the live one is kept as it is.
    let (status, resp) = s
        .json(
            paths::UPDATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": id, "disabled": true}, "updateMask": "disabled"}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["serviceAccount"]["disabled"], true, "{resp}");
    assert_eq!(resp["newTokenRequired"], json!(null), "{resp}");
    assert!(s.client.get_account(&id).await.unwrap().disabled);

    // Refused in every header form, with the status an expired account's token gets, and never counted as use.
    let (status, headers) = verify(&s, &jwt, "").await;
    assert_eq!(status, 401);
    assert!(headers.get("x-sacon-user").is_none());
    let (status, _, body) = s.verify(&[("X-Pomerium-Authorization", &jwt)], "").await;
    assert_eq!((status, body.as_str()), (401, "unauthorized\n"));
    let (status, _, _) = s
        .verify(&[("Authorization", &format!("Pomerium {jwt}"))], "")
        .await;
    assert_eq!(status, 401);
    // A scope in which the token would be fine changes nothing.
    assert_eq!(
        verify(&s, &jwt, "?namespace=Global/Engineering").await.0,
        401
    );
    let (kind, reason) = verdict(&s, &jwt, None).await;
    assert_eq!(kind, "disabled");
    assert!(
        reason.contains(&format!("service account {id} is disabled")),
        "{reason}"
    );
    assert_eq!(
        verdict(&s, &jwt, Some("Global/Engineering")).await.0,
        "disabled"
    );
    assert_eq!(s.client.get_account(&id).await.unwrap().accessed_at, used);

    // The same status as an account whose (record's) expiry has passed.
    let (other, other_jwt) = made(&s, &eng.id, "short-bot").await;
    s.client
        .edit_account(
            wire::ServiceAccount {
                id: Some(other.clone()),
                expires_at: Some(chrono_to_timestamp(s.now() + Duration::minutes(1))),
                ..Default::default()
            },
            &["expiresAt"],
        )
        .await
        .unwrap();
    s.advance(Duration::minutes(2));
    assert_eq!(verdict(&s, &other_jwt, None).await.0, "account_expired");
    assert_eq!(
        verify(&s, &other_jwt, "").await.0,
        verify(&s, &jwt, "").await.0
    );

    // Enabling: the same token verifies again, with its identity headers; nothing was reissued.
    let enabled = s.client.set_disabled(&id, false).await.unwrap();
    assert!(!enabled.disabled);
    let (status, headers) = verify(&s, &jwt, "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-sacon-account"], id.as_str());
    assert_eq!(verdict(&s, &jwt, None).await.0, "valid");
    // An enabled account reads as upstream's: no `disabled` on the wire.
    let (_, got) = s.json(paths::GET_SERVICE_ACCOUNT, json!({"id": id})).await;
    assert!(got["serviceAccount"].get("disabled").is_none(), "{got}");
}

#[tokio::test]
async fn disable_and_enable_are_audited_with_before_and_after() {
    let s = TestServer::start().await;
    let (id, _) = made(&s, "", "audited-bot").await;
    s.client.set_disabled(&id, true).await.unwrap();
    s.client.set_disabled(&id, false).await.unwrap();
    // Changing more than the flag at once is an update.
    s.client
        .edit_account(
            wire::ServiceAccount {
                id: Some(id.clone()),
                description: Some("retired soon".into()),
                disabled: Some(true),
                ..Default::default()
            },
            &["description", "disabled"],
        )
        .await
        .unwrap();
    let (entries, _) = s
        .client
        .list_activity(wire::ListActivityLogEntriesRequest {
            entity_type: Some("service_account".into()),
            entity_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.activity_type.as_str()).collect();
    assert_eq!(actions, ["update", "enable", "disable", "create"]);
    let data =
        |i: usize| -> serde_json::Value { serde_json::from_str(&entries[i].entity_data).unwrap() };
    let disable = data(2);
    assert_eq!(disable["before"], json!({"disabled": false}), "{disable}");
    assert_eq!(disable["after"], json!({"disabled": true}), "{disable}");
    assert_eq!(disable["changed"], json!(["disabled"]));
    let enable = data(1);
    assert_eq!(enable["before"], json!({"disabled": true}), "{enable}");
    assert_eq!(enable["after"], json!({"disabled": false}), "{enable}");
    let update = data(0);
    assert_eq!(
        update["after"],
        json!({"description": "retired soon", "disabled": true}),
        "{update}"
    );
    for e in &entries[..3] {
        assert_eq!(e.user_id, "root");
        assert_eq!(e.name, "audited-bot");
        // Never a token in the log.
        assert!(!e.entity_data.contains("eyJ"), "{}", e.entity_data);
    }
}

#[tokio::test]
async fn rotation_keeps_the_flag_and_replace_all_states_it() {
    let s = TestServer::start().await;
    let (id, _) = made(&s, "", "rotated-bot").await;
    s.client.set_disabled(&id, true).await.unwrap();
    // The client's rotation re-sends the account's fields without a mask: it stays disabled, and the new
    // token is refused like the old one.
    let (rotated, jwt) = s.client.rotate_account(&id).await.unwrap();
    assert!(rotated.disabled);
    assert_eq!(verdict(&s, &jwt, None).await.0, "disabled");
    // Without a mask every editable field is replaced: an absent `disabled` is false, as an absent description
    // is empty.
    let (status, resp) = s
        .json(
            paths::UPDATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": id, "userId": "rotated-bot", "description": "all fields"}}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert!(resp["serviceAccount"].get("disabled").is_none(), "{resp}");
    assert_eq!(verdict(&s, &jwt, None).await.0, "valid");
    // Not a boolean: refused, naming the field.
    let (status, resp) = s
        .json(
            paths::UPDATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": id, "disabled": "yes"}, "updateMask": "disabled"}),
        )
        .await;
    assert_eq!(status, 400, "{resp}");
    assert_eq!(resp["code"], "invalid_argument");
}

#[tokio::test]
async fn it_takes_a_manager_of_the_accounts_namespace() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let eng = s
        .client
        .set_namespace("", &root, "Engineering")
        .await
        .unwrap()
        .id;
    let ops = s.client.set_namespace("", &root, "Ops").await.unwrap().id;
    let (target, target_jwt) = made(&s, &eng, "target-bot").await;
    let (ops_target, _) = made(&s, &ops, "ops-bot").await;
    let (_, viewer_jwt) = made(&s, &eng, "eng-viewer").await;
    let (_, manager_jwt) = made(&s, &eng, "eng-manager").await;
    s.client
        .grant(&eng, "user", "eng-viewer", "viewer")
        .await
        .unwrap();
    s.client
        .grant(&eng, "user", "eng-manager", "manager")
        .await
        .unwrap();
    let (viewer, manager) = (client_with(&s, &viewer_jwt), client_with(&s, &manager_jwt));

    // A viewer reads the state and changes nothing.
    assert!(!viewer.get_account(&target).await.unwrap().disabled);
    let e = viewer.set_disabled(&target, true).await.unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    assert!(
        e.message.contains("manager") && e.message.contains("Engineering"),
        "{}",
        e.message
    );
    assert_eq!(verify(&s, &target_jwt, "").await.0, 200);

    // A manager disables and enables in its namespace, never in a sibling's.
    assert!(manager.set_disabled(&target, true).await.unwrap().disabled);
    assert_eq!(verify(&s, &target_jwt, "").await.0, 401);
    let e = manager.set_disabled(&ops_target, true).await.unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    assert!(e.message.contains("Ops"), "{}", e.message);
    assert!(!s.client.get_account(&ops_target).await.unwrap().disabled);
    assert!(!manager.set_disabled(&target, false).await.unwrap().disabled);
    assert_eq!(verify(&s, &target_jwt, "").await.0, 200);

    // The audit names the manager as the actor.
    let (entries, _) = s
        .client
        .list_activity(wire::ListActivityLogEntriesRequest {
            entity_type: Some("service_account".into()),
            entity_id: Some(target.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries[0].activity_type, "enable");
    assert_eq!(entries[1].activity_type, "disable");
    assert_eq!(entries[1].user_id, "eng-manager");
}

#[tokio::test]
async fn a_disabled_account_cannot_call_the_api_with_its_token() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let (id, jwt) = made(&s, &root, "ops-admin").await;
    s.client
        .grant(&root, "user", "ops-admin", "admin")
        .await
        .unwrap();
    let me = client_with(&s, &jwt);
    assert_eq!(me.whoami().await.unwrap().id, "ops-admin");

    s.client.set_disabled(&id, true).await.unwrap();
    let e = me.whoami().await.unwrap_err();
    assert_eq!(e.code, Code::Unauthenticated, "{e:?}");
    assert!(
        e.message
            .contains(&format!("service account {id} is disabled")),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(&format!("sacon accounts enable {id}")),
        "{}",
        e.message
    );
    // Not even to enable itself.
    let e = me.set_disabled(&id, false).await.unwrap_err();
    assert_eq!(e.code, Code::Unauthenticated, "{e:?}");

    s.client.set_disabled(&id, false).await.unwrap();
    assert_eq!(me.whoami().await.unwrap().id, "ops-admin");
}

#[tokio::test]
async fn lists_filter_and_sort_on_the_flag() {
    let s = TestServer::start().await;
    let (a, _) = made(&s, "", "bot-a").await;
    let (b, _) = made(&s, "", "bot-b").await;
    let (c, _) = made(&s, "", "bot-c").await;
    s.client.set_disabled(&b, true).await.unwrap();
    let ids = |filter: serde_json::Value, order_by: &str| {
        let query = ListQuery {
            filter: Some(filter),
            order_by: order_by.into(),
            offset: 0,
            limit: None,
        };
        let client = s.client.clone();
        async move {
            let (accounts, _) = client.list_accounts(&query).await.unwrap();
            accounts.into_iter().map(|a| a.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(json!({"disabled": true}), "").await, vec![b.clone()]);
    let mut enabled = vec![a.clone(), c.clone()];
    enabled.sort();
    assert_eq!(ids(json!({"disabled": false}), "id").await, enabled);
    assert_eq!(
        ids(json!({"$not": {"disabled": true}}), "id").await,
        enabled
    );
    assert_eq!(ids(json!({}), "-disabled").await[0], b);
    let e = s
        .client
        .list_accounts(&ListQuery {
            filter: Some(json!({"disabled": "true"})),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument);
    assert!(e.message.contains("\"disabled\""), "{}", e.message);
}

#[tokio::test]
async fn the_console_api_shows_and_sets_the_flag() {
    let s = TestServer::start().await;
    let (id, jwt) = made(&s, "", "console-bot").await;
    const SET: &str = "/pomerium.dashboard.PomeriumServiceAccountService/SetPomeriumServiceAccount";
    const GET: &str = "/pomerium.dashboard.PomeriumServiceAccountService/GetPomeriumServiceAccount";
    let (status, resp) = s
        .json(SET, json!({"serviceAccount": {"id": id, "disabled": true}}))
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["serviceAccount"]["disabled"], true, "{resp}");
    assert_eq!(verdict(&s, &jwt, None).await.0, "disabled");
    // Setting another field leaves the flag as it is.
    let (status, resp) = s
        .json(
            SET,
            json!({"serviceAccount": {"id": id, "description": "still off"}}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let (_, got) = s.json(GET, json!({"id": id})).await;
    assert_eq!(got["serviceAccount"]["disabled"], true, "{got}");
    assert!(s.client.get_account(&id).await.unwrap().disabled);
    let (_, resp) = s
        .json(
            SET,
            json!({"serviceAccount": {"id": id, "disabled": false}}),
        )
        .await;
    assert!(resp["serviceAccount"].get("disabled").is_none(), "{resp}");
    assert_eq!(verdict(&s, &jwt, None).await.0, "valid");
}
