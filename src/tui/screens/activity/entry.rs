//! One change of the activity log as the console shows it: taken from the wire entry with its detail parsed
//! once, and the before → after of each changed field. The strings held are the server's, untrusted; every
//! function here that returns display text sanitizes it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::api::wire;
use crate::model::sanitize;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub at: Option<DateTime<Utc>>,
    /// Who made the change: `root`, `local:<user>`, or a service account's user id.
    pub actor: String,
    /// Set when the actor is a service account.
    pub service_account_id: String,
    /// create, update, rotate, delete, import, …
    pub action: String,
    /// service_account, namespace, directory, namespace_permission, …
    pub entity_type: String,
    pub entity_id: String,
    /// What the entity was called: an account's user id, a namespace's name.
    pub name: String,
    pub namespace_id: String,
    pub namespace_name: String,
    /// `entityData` parsed; `Null` when it is not JSON (then `raw` is shown as it is).
    pub data: Value,
    pub raw: String,
}

/// One changed field of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

impl FieldChange {
    /// `description: "old" → "new"`, sanitized.
    pub fn text(&self) -> String {
        sanitize(&format!("{}: {} → {}", self.field, self.before, self.after))
    }
}

/// A detail value as the console writes it: strings quoted (so an empty one shows), `null` as `none`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        // serde_json writes control characters as escapes, so none reaches the terminal raw.
        Value::String(_) => v.to_string(),
        other => other.to_string(),
    }
}

impl Entry {
    pub fn from_wire(e: &wire::ActivityLogEntry) -> Entry {
        Entry {
            id: e.id.clone(),
            at: e.created_at.and_then(|t| t.to_chrono()),
            actor: e.user_id.clone(),
            service_account_id: e.service_account_id.clone(),
            action: e.activity_type.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            name: e.name.clone(),
            namespace_id: e.namespace_id.clone(),
            namespace_name: e.namespace_name.clone(),
            data: serde_json::from_str(&e.entity_data).unwrap_or(Value::Null),
            raw: e.entity_data.clone(),
        }
    }

    /// Each field the change set, before and after, in the order the detail lists them (`changed`, else
    /// the keys of `before` and `after`). Empty for anything but an update that records them.
    pub fn changes(&self) -> Vec<FieldChange> {
        let (Some(before), Some(after)) = (
            self.data.get("before").and_then(Value::as_object),
            self.data.get("after").and_then(Value::as_object),
        ) else {
            return Vec::new();
        };
        let mut fields: Vec<String> = self
            .data
            .get("changed")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        for k in before.keys().chain(after.keys()) {
            if !fields.contains(k) {
                fields.push(k.clone());
            }
        }
        fields
            .into_iter()
            .map(|f| FieldChange {
                before: value_text(before.get(&f).unwrap_or(&Value::Null)),
                after: value_text(after.get(&f).unwrap_or(&Value::Null)),
                field: f,
            })
            .collect()
    }

    /// What the change did, in one line (sanitized): an update's fields before → after, a rotation's grace.
    pub fn summary(&self) -> String {
        let changes = self.changes();
        if !changes.is_empty() {
            return changes
                .iter()
                .map(FieldChange::text)
                .collect::<Vec<_>>()
                .join("; ");
        }
        let text = |key: &str| self.data.get(key).and_then(Value::as_str);
        let out = match self.action.as_str() {
            "rotate" => match text("graceUntil") {
                Some(t) if t != "never" => format!("new token; the old one works until {t}"),
                _ => "new token; the old one stopped at once".into(),
            },
            "create" if self.entity_type == "service_account" => match text("expiresAt") {
                Some("never") => "never expires".into(),
                Some(t) => format!("expires {t}"),
                None => String::new(),
            },
            "import" => match (self.data.get("inserted"), self.data.get("updated")) {
                (Some(i), Some(u)) => format!("{i} users added, {u} updated"),
                _ => String::new(),
            },
            _ => String::new(),
        };
        sanitize(&out)
    }

    /// The detail as indented JSON, a line each (sanitized); the raw text when it is not JSON.
    pub fn data_lines(&self) -> Vec<String> {
        let text = if self.data.is_null() {
            self.raw.clone()
        } else {
            serde_json::to_string_pretty(&self.data).unwrap_or_else(|_| self.raw.clone())
        };
        text.lines().map(sanitize).collect()
    }

    /// The entity type in a word for a narrow column.
    pub fn kind_word(&self) -> String {
        match self.entity_type.as_str() {
            "service_account" => "account".into(),
            "namespace_permission" => "permission".into(),
            other => sanitize(other),
        }
    }

    /// The actor, and the service account it is when there is one (sanitized).
    pub fn actor_text(&self) -> String {
        if self.service_account_id.is_empty() {
            sanitize(&self.actor)
        } else {
            sanitize(&format!(
                "{} (service account {})",
                self.actor, self.service_account_id
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, data: &str) -> Entry {
        Entry::from_wire(&wire::ActivityLogEntry {
            id: "7".into(),
            activity_type: action.into(),
            entity_type: "service_account".into(),
            entity_data: data.into(),
            ..Default::default()
        })
    }

    #[test]
    fn an_update_shows_each_field_before_and_after() {
        let e = entry(
            "update",
            r#"{"changed":["description","expiresAt"],"before":{"description":"old","expiresAt":"never"},
                "after":{"description":"new\u001b[2J\u202e","expiresAt":"2027-01-31T00:00:00Z"}}"#,
        );
        let c = e.changes();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].text(), r#"description: "old" → "new\u001b[2J""#);
        assert_eq!(
            e.summary(),
            r#"description: "old" → "new\u001b[2J"; expiresAt: "never" → "2027-01-31T00:00:00Z""#
        );
        assert!(e.data_lines().iter().all(|l| !l.contains('\u{202e}')));
    }

    #[test]
    fn other_actions_say_what_they_did() {
        assert_eq!(
            entry("rotate", r#"{"graceUntil":"never"}"#).summary(),
            "new token; the old one stopped at once"
        );
        assert_eq!(
            entry("create", r#"{"expiresAt":"never"}"#).summary(),
            "never expires"
        );
        let junk = entry("delete", "not json\u{1b}]0;x");
        assert_eq!(junk.summary(), "");
        assert_eq!(junk.data_lines(), vec!["not json]0;x".to_string()]);
    }
}
