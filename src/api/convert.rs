//! Conversions between wire messages and domain types (the one place that decides how absent wire fields map),
//! and between the well-known wire types and chrono / serde_json.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use pbjson_types::Struct;

pub use super::wkt::Timestamp;

use super::wire;
use crate::model::{DirectoryUser, Namespace, ServiceAccount};

pub fn timestamp_to_chrono(ts: &Timestamp) -> Option<DateTime<Utc>> {
    ts.to_chrono()
}

pub fn chrono_to_timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from_chrono(t)
}

/// RFC 3339 in UTC ending in `Z`, with only as many fraction digits as needed.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A `Struct` as the JSON object it stands for.
pub fn struct_to_json(st: &Struct) -> serde_json::Value {
    serde_json::to_value(st).unwrap_or_else(|_| serde_json::Value::Object(Default::default()))
}

/// A JSON object as a `Struct`.
pub fn json_to_struct(m: serde_json::Map<String, serde_json::Value>) -> Struct {
    serde_json::from_value(serde_json::Value::Object(m)).unwrap_or_default()
}

/// `expires_at` -> `expiresAt`, as the JSON mapping spells field names.
pub fn snake_to_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `expiresAt` -> `expires_at`, the proto name a FieldMask carries.
pub fn camel_to_snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `UserInfo.issuer` of users from sacon's own directory.
pub const DIRECTORY_ISSUER: &str = "sacon";

fn time(ts: &Option<Timestamp>) -> Option<DateTime<Utc>> {
    ts.as_ref().and_then(timestamp_to_chrono)
}

fn epoch() -> DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().unwrap_or_default()
}

pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(chrono_to_timestamp(t))
}

pub fn opt_ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(chrono_to_timestamp)
}

impl From<&ServiceAccount> for wire::ServiceAccount {
    fn from(a: &ServiceAccount) -> Self {
        wire::ServiceAccount {
            id: Some(a.id.clone()),
            namespace_id: Some(a.namespace_id.clone()),
            originator_id: (!a.originator_id.is_empty()).then(|| a.originator_id.clone()),
            // Unset upstream is absent, never "".
            description: (!a.description.is_empty()).then(|| a.description.clone()),
            user_id: Some(a.user_id.clone()),
            expires_at: opt_ts(a.expires_at),
            created_at: ts(a.created_at),
            modified_at: ts(a.modified_at),
            accessed_at: opt_ts(a.accessed_at),
            // Only when set: a server that does not know the extension never sees it, and an enabled account
            // reads the same as upstream's.
            disabled: a.disabled.then_some(true),
        }
    }
}

impl From<wire::ServiceAccount> for ServiceAccount {
    fn from(a: wire::ServiceAccount) -> Self {
        ServiceAccount {
            expires_at: time(&a.expires_at),
            created_at: time(&a.created_at).unwrap_or_else(epoch),
            modified_at: time(&a.modified_at).unwrap_or_else(epoch),
            accessed_at: time(&a.accessed_at),
            id: a.id.unwrap_or_default(),
            namespace_id: a.namespace_id.unwrap_or_default(),
            originator_id: a.originator_id.unwrap_or_default(),
            description: a.description.unwrap_or_default(),
            user_id: a.user_id.unwrap_or_default(),
            disabled: a.disabled.unwrap_or(false),
        }
    }
}

impl From<&Namespace> for wire::Namespace {
    fn from(n: &Namespace) -> Self {
        wire::Namespace {
            id: n.id.clone(),
            parent_id: n.parent_id.clone(),
            created_at: ts(n.created_at),
            modified_at: ts(n.modified_at),
            deleted_at: None,
            name: n.name.clone(),
            route_count: n.route_count,
            policy_count: n.policy_count,
            originator_id: n.originator_id.clone(),
            cluster_id: None,
        }
    }
}

impl From<wire::Namespace> for Namespace {
    fn from(n: wire::Namespace) -> Self {
        Namespace {
            created_at: time(&n.created_at).unwrap_or_else(epoch),
            modified_at: time(&n.modified_at).unwrap_or_else(epoch),
            id: n.id,
            parent_id: n.parent_id,
            name: n.name,
            originator_id: n.originator_id,
            route_count: n.route_count,
            policy_count: n.policy_count,
        }
    }
}

impl From<&DirectoryUser> for wire::UserInfo {
    fn from(u: &DirectoryUser) -> Self {
        wire::UserInfo {
            id: u.id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            groups: u.groups.clone(),
            issuer: DIRECTORY_ISSUER.to_string(),
            ..Default::default()
        }
    }
}

impl From<wire::UserInfo> for DirectoryUser {
    fn from(u: wire::UserInfo) -> Self {
        DirectoryUser {
            id: u.id,
            name: u.name,
            email: u.email,
            groups: u.groups,
        }
    }
}
