//! Editing an account never breaks its live token; only a rotation (sacon's `rotate`, field 1001) supersedes.
//! Over real HTTP with a manual clock: description, namespace and a closer expiry leave the saved token working
//! (the record enforces the closer expiry on every token); an expiry pushed later or cleared answers with a new
//! token marked `newTokenRequired` while the old one works until its own `exp`.

use chrono::Duration;
use sacon::api::convert::chrono_to_timestamp;
use sacon::api::wire::{self, paths};
use serde_json::json;

use crate::support::TestServer;

async fn verify(s: &TestServer, jwt: &str) -> u16 {
    s.verify(&[("Authorization", &format!("Bearer Pomerium-{jwt}"))], "")
        .await
        .0
}

/// An account expiring in `days` days (never with `None`) and its token.
async fn made(s: &TestServer, days: Option<i64>) -> (String, String) {
    let (sa, jwt) = s
        .client
        .create_account(wire::ServiceAccount {
            user_id: Some("edited-bot".into()),
            expires_at: days.map(|d| chrono_to_timestamp(s.now() + Duration::days(d))),
            ..Default::default()
        })
        .await
        .unwrap();
    (sa.id, jwt.to_string())
}

async fn update(s: &TestServer, body: serde_json::Value) -> (u16, serde_json::Value) {
    s.advance(Duration::seconds(1));
    s.json(paths::UPDATE_SERVICE_ACCOUNT, body).await
}

#[tokio::test]
async fn description_namespace_and_a_closer_expiry_leave_the_live_token_working() {
    let s = TestServer::start_manual().await;
    let (id, jwt) = made(&s, None).await;
    let child = s
        .client
        .set_namespace("", &s.root_id().await, "Elsewhere")
        .await
        .unwrap();
    for body in [
        json!({"serviceAccount": {"id": id, "description": "only words"}, "updateMask": "description"}),
        json!({"serviceAccount": {"id": id, "namespaceId": child.id}, "updateMask": "namespaceId"}),
    ] {
        let (status, resp) = update(&s, body.clone()).await;
        assert_eq!(status, 200, "{body}: {resp}");
        assert_eq!(resp["newTokenRequired"], json!(null), "{resp}");
        assert_eq!(verify(&s, &jwt).await, 200, "after {body}");
    }
    // A closer expiry: no new token needed, and the record holds every token to it.
    let soon = s.now() + Duration::hours(1);
    let (status, resp) = update(
        &s,
        json!({"serviceAccount": {"id": id, "expiresAt": chrono_to_timestamp(soon)}, "updateMask": "expiresAt"}),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["newTokenRequired"], json!(null));
    assert_eq!(verify(&s, &jwt).await, 200);
    s.advance(Duration::hours(2));
    assert_eq!(
        verify(&s, &jwt).await,
        401,
        "the record's earlier expiry binds the old token"
    );
    // The activity log says what changed, and none of it was a rotation.
    let (entries, _) = s
        .admin()
        .list_activity(wire::ListActivityLogEntriesRequest {
            entity_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.activity_type.as_str()).collect();
    assert_eq!(actions, vec!["update", "update", "update", "create"]);
}

#[tokio::test]
async fn a_later_or_cleared_expiry_needs_the_new_token_and_the_old_one_keeps_its_own() {
    let s = TestServer::start_manual().await;
    let (id, old) = made(&s, Some(1)).await;
    let later = s.now() + Duration::days(30);
    let (status, resp) = update(
        &s,
        json!({"serviceAccount": {"id": id, "expiresAt": chrono_to_timestamp(later)}, "updateMask": "expiresAt"}),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["newTokenRequired"], true);
    let new = resp["jwt"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!((verify(&s, &old).await, verify(&s, &new).await), (200, 200));
    // Past the old token's own `exp`, only the new one works.
    s.advance(Duration::days(2));
    assert_eq!((verify(&s, &old).await, verify(&s, &new).await), (401, 200));
    // Clearing the expiry needs a new token too.
    let (status, resp) = update(
        &s,
        json!({"serviceAccount": {"id": id}, "updateMask": "expiresAt"}),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["newTokenRequired"], true);
    assert_eq!(verify(&s, resp["jwt"].as_str().unwrap()).await, 200);
    assert_eq!(verify(&s, &new).await, 200, "the 30-day token still works");
}

#[tokio::test]
async fn only_rotate_supersedes_and_asks_for_it_explicitly() {
    let s = TestServer::start_manual().await;
    let (id, old) = made(&s, None).await;
    // A grace period or a new user id without `rotate` is refused, never silently a rotation.
    for body in [
        json!({"serviceAccount": {"id": id, "description": "x"}, "updateMask": "description", "gracePeriod": "60s"}),
        json!({"serviceAccount": {"id": id, "userId": "someone-else"}, "updateMask": "userId"}),
    ] {
        let (status, resp) = update(&s, body.clone()).await;
        assert_eq!(
            (status, resp["code"].as_str()),
            (400, Some("invalid_argument")),
            "{body}"
        );
        assert!(
            resp["message"].as_str().unwrap().contains("rotate"),
            "{resp}"
        );
    }
    assert_eq!(verify(&s, &old).await, 200);
    // A rotation with a grace period: the old token works for the grace, then is superseded.
    let (status, resp) = update(
        &s,
        json!({"serviceAccount": {"id": id}, "updateMask": "", "rotate": true, "gracePeriod": "60s"}),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["newTokenRequired"], true);
    let new = resp["jwt"].as_str().unwrap().to_string();
    assert_eq!((verify(&s, &old).await, verify(&s, &new).await), (200, 200));
    s.advance(Duration::seconds(61));
    assert_eq!((verify(&s, &old).await, verify(&s, &new).await), (401, 200));
    // The typed client's rotate sends `rotate`; the audit log calls it a rotation.
    s.advance(Duration::seconds(1));
    let (_, rotated) = s.admin().rotate_account(&id).await.unwrap();
    assert_eq!(
        (verify(&s, &new).await, verify(&s, &rotated).await),
        (401, 200)
    );
    let (entries, _) = s
        .admin()
        .list_activity(wire::ListActivityLogEntriesRequest {
            entity_id: Some(id.clone()),
            activity_type: Some("rotate".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    // `edit_account` hands back a token only when one is needed.
    let (_, none) = s
        .admin()
        .edit_account(
            wire::ServiceAccount {
                id: Some(id.clone()),
                description: Some("quiet".into()),
                ..Default::default()
            },
            &["description"],
        )
        .await
        .unwrap();
    assert!(none.is_none());
    assert_eq!(verify(&s, &rotated).await, 200);
}

#[tokio::test]
async fn the_console_api_edits_without_breaking_the_token_either() {
    let s = TestServer::start_manual().await;
    let (id, jwt) = made(&s, None).await;
    let (status, resp) = s
        .json(
            paths::SET_POMERIUM_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": id, "userId": "edited-bot", "description": "via the console API"}}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(verify(&s, &jwt).await, 200);
    assert_eq!(
        s.client.get_account(&id).await.unwrap().description,
        "via the console API"
    );
}
