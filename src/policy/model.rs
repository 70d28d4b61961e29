//! Routes and policies as the store keeps them: plain data, validated by the API before it is written.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: String,
    pub namespace_id: String,
    pub name: String,
    pub description: String,
    pub allowed_users: Vec<String>,
    pub allowed_domains: Vec<String>,
    /// The PPL document as written (JSON or YAML); empty for none.
    pub ppl: String,
    /// Applies to every route of the namespace and below.
    pub enforced: bool,
    pub originator_id: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub id: String,
    pub namespace_id: String,
    pub name: String,
    pub description: Option<String>,
    /// Normalised `scheme://host`.
    pub from: String,
    /// A path prefix; `None` for every path.
    pub prefix: Option<String>,
    /// In the order the route names them.
    pub policy_ids: Vec<String>,
    pub originator_id: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

/// Every route, policy and namespace as of one access version (the store's change counter for them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessSnapshot {
    pub version: i64,
    pub routes: Vec<Route>,
    pub policies: Vec<Policy>,
    pub namespaces: Vec<crate::model::Namespace>,
}
