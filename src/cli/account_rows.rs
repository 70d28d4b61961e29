//! How `sacon accounts list` and `show` present an account: the directory users impersonated accounts act as
//! (looked up once per user id), and one account as a table row, a field list, JSON and CSV, with its state
//! and the person behind it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::CliError;
use super::output::{ago_label, date, expires_label, rfc3339};
use super::slash_path;
use crate::api::{Client, Code};
use crate::model::{AccountKind, DirectoryUser, NamespaceTree, ServiceAccount};

/// User-id look-ups in flight at once while listing.
const LOOKUP_CONCURRENCY: usize = 8;

/// The directory users the accounts act as, by user id: an account whose user id is here is impersonated.
pub(super) async fn kinds<'a>(
    client: &Client,
    user_ids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, DirectoryUser>, CliError> {
    let mut distinct: Vec<&str> = user_ids.collect();
    distinct.sort_unstable();
    distinct.dedup();
    let results: Vec<_> = futures_util::stream::iter(distinct)
        .map(|id| async move { (id, client.get_user(id).await) })
        .buffer_unordered(LOOKUP_CONCURRENCY)
        .collect()
        .await;
    let mut out = HashMap::new();
    for (id, result) in results {
        match result {
            Ok(Some(user)) => {
                out.insert(id.to_string(), user);
            }
            Ok(None) => {}
            Err(e) if e.code == Code::Unimplemented => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

pub(super) const CSV_HEADER: [&str; 14] = [
    "id",
    "user_id",
    "kind",
    "person_name",
    "person_email",
    "namespace_id",
    "namespace",
    "description",
    "originator_id",
    "created_at",
    "modified_at",
    "expires_at",
    "accessed_at",
    "disabled",
];

/// The person an impersonated account acts as.
#[derive(Debug, serde::Serialize)]
struct PersonJson {
    name: String,
    email: String,
}

/// An account in `--output json`; fields in this order, absent times as `null`.
#[derive(Debug, serde::Serialize)]
pub(super) struct AccountJson {
    id: String,
    user_id: String,
    kind: &'static str,
    /// The directory user an impersonated account acts as; `null` for a unique one.
    person: Option<PersonJson>,
    namespace_id: String,
    namespace: String,
    description: String,
    originator_id: String,
    created_at: String,
    modified_at: String,
    expires_at: Option<String>,
    accessed_at: Option<String>,
    disabled: bool,
    /// Only when listing with --include-inherited.
    #[serde(skip_serializing_if = "Option::is_none")]
    inherited: Option<bool>,
}

/// One account with what the CLI shows beside it.
pub(super) struct Row<'a> {
    account: &'a ServiceAccount,
    kind: AccountKind,
    /// The directory user an impersonated account acts as.
    person: Option<&'a DirectoryUser>,
    /// `Global/Engineering`, or the bare id when the server has no namespace service.
    namespace: String,
    /// Set when listing with --include-inherited: whether this one comes from an ancestor.
    inherited: Option<bool>,
}

impl<'a> Row<'a> {
    pub(super) fn new(
        account: &'a ServiceAccount,
        tree: Option<&NamespaceTree>,
        people: &'a HashMap<String, DirectoryUser>,
        inherited_from: Option<&str>,
    ) -> Row<'a> {
        let person = people.get(&account.user_id);
        let namespace = match tree {
            Some(t) if t.get(&account.namespace_id).is_some() => {
                slash_path(t, &account.namespace_id)
            }
            _ => account.namespace_id.clone(),
        };
        Row {
            account,
            kind: if person.is_some() {
                AccountKind::Impersonated
            } else {
                AccountKind::Unique
            },
            person,
            namespace,
            inherited: inherited_from.map(|ns| ns != account.namespace_id),
        }
    }

    pub(super) fn cells(&self, now: DateTime<Utc>) -> Vec<String> {
        let a = self.account;
        let namespace = if self.inherited == Some(true) {
            format!("{} (inherited)", self.namespace)
        } else {
            self.namespace.clone()
        };
        vec![
            a.id.clone(),
            a.user_id.clone(),
            self.kind.as_str().into(),
            crate::display::state(a, now).into(),
            self.person_label(),
            namespace,
            a.description.clone(),
            date(a.created_at),
            expires_label(a.expires_at, now),
            ago_label(a.accessed_at, now),
        ]
    }

    /// `Alice Liddell <alice@example.com>`, or empty for a unique account.
    fn person_label(&self) -> String {
        self.person
            .map(|p| format!("{} <{}>", p.name, p.email))
            .unwrap_or_default()
    }

    pub(super) fn fields(&self, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
        let a = self.account;
        let expires = match a.expires_at {
            None => "never".to_string(),
            Some(t) => format!("{} ({})", rfc3339(t), expires_label(Some(t), now)),
        };
        let used = match a.accessed_at {
            None => "never".to_string(),
            Some(t) => format!("{} ({})", rfc3339(t), ago_label(Some(t), now)),
        };
        vec![
            ("ID", a.id.clone()),
            ("User ID", a.user_id.clone()),
            ("Kind", self.kind.as_str().into()),
            ("State", state_label(a, now)),
            (
                "Acts as",
                match self.person {
                    Some(_) => self.person_label(),
                    None => "itself (a user id only the console knows)".into(),
                },
            ),
            ("Namespace", self.namespace.clone()),
            ("Description", a.description.clone()),
            ("Created", rfc3339(a.created_at)),
            ("Created by", a.originator_id.clone()),
            ("Modified", rfc3339(a.modified_at)),
            ("Expires", expires),
            ("Last used", used),
        ]
    }

    pub(super) fn json(&self) -> AccountJson {
        let a = self.account;
        AccountJson {
            id: a.id.clone(),
            user_id: a.user_id.clone(),
            kind: self.kind.as_str(),
            person: self.person.map(|p| PersonJson {
                name: p.name.clone(),
                email: p.email.clone(),
            }),
            namespace_id: a.namespace_id.clone(),
            namespace: self.namespace.clone(),
            description: a.description.clone(),
            originator_id: a.originator_id.clone(),
            created_at: rfc3339(a.created_at),
            modified_at: rfc3339(a.modified_at),
            expires_at: a.expires_at.map(rfc3339),
            accessed_at: a.accessed_at.map(rfc3339),
            disabled: a.disabled,
            inherited: self.inherited,
        }
    }

    pub(super) fn csv(&self) -> Vec<String> {
        let a = self.account;
        vec![
            a.id.clone(),
            a.user_id.clone(),
            self.kind.as_str().into(),
            self.person.map(|p| p.name.clone()).unwrap_or_default(),
            self.person.map(|p| p.email.clone()).unwrap_or_default(),
            a.namespace_id.clone(),
            self.namespace.clone(),
            a.description.clone(),
            a.originator_id.clone(),
            rfc3339(a.created_at),
            rfc3339(a.modified_at),
            a.expires_at.map(rfc3339).unwrap_or_default(),
            a.accessed_at.map(rfc3339).unwrap_or_default(),
            a.disabled.to_string(),
        ]
    }
}

/// `show`'s state line: the word, and for a disabled account what that means and how to undo it.
fn state_label(a: &ServiceAccount, now: DateTime<Utc>) -> String {
    if a.disabled {
        format!(
            "disabled: its token is refused until `sacon accounts enable {}`",
            a.id
        )
    } else {
        crate::display::state(a, now).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::Value;

    fn account() -> ServiceAccount {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        ServiceAccount {
            id: "acc-1".into(),
            namespace_id: "p".into(),
            originator_id: String::new(),
            description: "ci \u{1b}[31mbot".into(),
            user_id: "alice".into(),
            expires_at: Some(t + chrono::Duration::days(40)),
            created_at: t,
            modified_at: t,
            accessed_at: None,
            disabled: false,
        }
    }

    fn tree() -> NamespaceTree {
        let t = Utc.timestamp_opt(0, 0).unwrap();
        let ns =
            |id: &str, parent: &str, name: &str| crate::model::Namespace::new(id, parent, name, t);
        NamespaceTree::new(vec![ns("g", "", "Global"), ns("p", "g", "Platform")])
    }

    #[test]
    fn rows_render_for_table_json_and_csv() {
        let a = account();
        let tree = tree();
        let kinds = HashMap::from([(
            "alice".to_string(),
            DirectoryUser {
                id: "alice".into(),
                name: "Alice".into(),
                email: "alice@example.com".into(),
                groups: vec![],
            },
        )]);
        let now = a.created_at + chrono::Duration::days(28);
        let row = Row::new(&a, Some(&tree), &kinds, Some("g"));
        assert_eq!(
            row.cells(now),
            vec![
                "acc-1",
                "alice",
                "impersonated",
                "active",
                "Alice <alice@example.com>",
                "Global/Platform (inherited)",
                "ci \u{1b}[31mbot",
                "2026-01-01",
                "in 12d",
                "never"
            ]
        );
        let v = serde_json::to_value(row.json()).unwrap();
        assert_eq!(v["expires_at"], "2026-02-10T00:00:00Z");
        assert_eq!(v["accessed_at"], Value::Null);
        assert_eq!(v["namespace"], "Global/Platform");
        assert_eq!(v["inherited"], true);
        assert_eq!(row.csv()[11], "2026-02-10T00:00:00Z");
        assert_eq!(v["person"]["email"], "alice@example.com");
        assert_eq!(v["disabled"], false);
        assert_eq!(row.csv()[13], "false");
        assert_eq!(row.csv().len(), CSV_HEADER.len());
        // Without a namespace service the id stands in for the path; unknown users are unique.
        let nobody = HashMap::new();
        let bare = Row::new(&a, None, &nobody, None);
        assert_eq!(bare.namespace, "p");
        assert_eq!(bare.kind, AccountKind::Unique);
        let bare_json = serde_json::to_value(bare.json()).unwrap();
        assert!(bare_json.get("inherited").is_none());
        let keys: Vec<&String> = bare_json.as_object().unwrap().keys().collect();
        // JSON's one `person` object is CSV's two columns, name and e-mail.
        assert_eq!(keys.len() + 1, CSV_HEADER.len());
        assert_eq!(bare_json["person"], Value::Null);

        // A disabled account says so in every format, and `show` says how to undo it.
        let off = ServiceAccount {
            disabled: true,
            ..account()
        };
        let row = Row::new(&off, Some(&tree), &nobody, None);
        assert_eq!(row.cells(now)[3], "disabled");
        assert_eq!(serde_json::to_value(row.json()).unwrap()["disabled"], true);
        assert_eq!(row.csv()[13], "true");
        let state = row
            .fields(now)
            .into_iter()
            .find(|(k, _)| *k == "State")
            .unwrap()
            .1;
        assert!(state.contains("sacon accounts enable acc-1"), "{state}");
    }
}
