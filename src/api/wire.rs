//! Wire messages of the API subset, each usable with both codecs: prost field numbers for `application/proto`
//! and serde attributes for protobuf's JSON mapping (`application/json`). Field names and numbers follow
//! Pomerium's `pomerium.config` and `pomerium.dashboard` packages to the letter.

use std::collections::HashMap;

use prost_types::{FieldMask, Struct, Timestamp};
use serde::{Deserialize, Serialize};

use super::json::{
    int_string, is_default, null_default, opt_duration, opt_field_mask, opt_struct, opt_timestamp,
    server_type,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ServerType {
    Unknown = 0,
    Core = 1,
    Enterprise = 2,
    Zero = 3,
}

impl ServerType {
    pub fn as_str_name(self) -> &'static str {
        match self {
            ServerType::Unknown => "SERVER_TYPE_UNKNOWN",
            ServerType::Core => "SERVER_TYPE_CORE",
            ServerType::Enterprise => "SERVER_TYPE_ENTERPRISE",
            ServerType::Zero => "SERVER_TYPE_ZERO",
        }
    }
    pub fn from_str_name(name: &str) -> Option<ServerType> {
        [
            ServerType::Unknown,
            ServerType::Core,
            ServerType::Enterprise,
            ServerType::Zero,
        ]
        .into_iter()
        .find(|t| t.as_str_name() == name)
    }
}

// ---- pomerium.config.ConfigService ----

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    #[prost(string, optional, tag = "1")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[prost(string, optional, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "namespace_id"
    )]
    pub namespace_id: Option<String>,
    #[prost(string, optional, tag = "3")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "originator_id"
    )]
    pub originator_id: Option<String>,
    #[prost(string, optional, tag = "4")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[prost(string, optional, tag = "5")]
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "user_id")]
    pub user_id: Option<String>,
    #[prost(message, optional, tag = "6")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_timestamp",
        alias = "expires_at"
    )]
    pub expires_at: Option<Timestamp>,
    #[prost(message, optional, tag = "7")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_timestamp",
        alias = "created_at"
    )]
    pub created_at: Option<Timestamp>,
    #[prost(message, optional, tag = "8")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_timestamp",
        alias = "modified_at"
    )]
    pub modified_at: Option<Timestamp>,
    #[prost(message, optional, tag = "9")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_timestamp",
        alias = "accessed_at"
    )]
    pub accessed_at: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct GetServerInfoRequest {}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetServerInfoResponse {
    #[prost(enumeration = "ServerType", tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "is_default",
        with = "server_type",
        alias = "server_type"
    )]
    pub server_type: i32,
    #[prost(string, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub version: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceAccountRequest {
    #[prost(message, optional, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "service_account"
    )]
    pub service_account: Option<ServiceAccount>,
}

/// Carries the account's only copy of its JWT: callers move `jwt` into a zeroizing holder at once.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceAccountResponse {
    #[prost(message, optional, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "service_account"
    )]
    pub service_account: Option<ServiceAccount>,
    #[prost(string, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub jwt: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServiceAccountsRequest {
    #[prost(uint64, tag = "1")]
    #[serde(default, skip_serializing_if = "is_default", with = "int_string")]
    pub offset: u64,
    #[prost(uint64, tag = "2")]
    #[serde(default, skip_serializing_if = "is_default", with = "int_string")]
    pub limit: u64,
    #[prost(message, optional, tag = "3")]
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_struct")]
    pub filter: Option<Struct>,
    #[prost(string, tag = "4")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default",
        alias = "order_by"
    )]
    pub order_by: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServiceAccountsResponse {
    #[prost(message, repeated, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default",
        alias = "service_accounts"
    )]
    pub service_accounts: Vec<ServiceAccount>,
    #[prost(uint64, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "is_default",
        with = "int_string",
        alias = "total_count"
    )]
    pub total_count: u64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct GetServiceAccountRequest {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub id: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetServiceAccountResponse {
    #[prost(message, optional, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "service_account"
    )]
    pub service_account: Option<ServiceAccount>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceAccountRequest {
    #[prost(message, optional, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "service_account"
    )]
    pub service_account: Option<ServiceAccount>,
    #[prost(message, optional, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_field_mask",
        alias = "update_mask"
    )]
    pub update_mask: Option<FieldMask>,
    /// sacon's extension (servers that do not know it ignore it): tokens issued before this update keep
    /// verifying for this long, so clients can switch to the new one without downtime.
    #[prost(message, optional, tag = "1000")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_duration",
        alias = "grace_period"
    )]
    pub grace_period: Option<prost_types::Duration>,
}

/// Carries a newly issued JWT: callers move `jwt` into a zeroizing holder at once.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceAccountResponse {
    #[prost(message, optional, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "service_account"
    )]
    pub service_account: Option<ServiceAccount>,
    #[prost(string, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub jwt: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct DeleteServiceAccountRequest {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub id: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct DeleteServiceAccountResponse {}

// ---- pomerium.dashboard.NamespaceService ----

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub id: String,
    #[prost(string, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default",
        alias = "parent_id"
    )]
    pub parent_id: String,
    #[prost(message, optional, tag = "3")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_timestamp",
        alias = "created_at"
    )]
    pub created_at: Option<Timestamp>,
    #[prost(message, optional, tag = "4")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_timestamp",
        alias = "modified_at"
    )]
    pub modified_at: Option<Timestamp>,
    #[prost(message, optional, tag = "5")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_timestamp",
        alias = "deleted_at"
    )]
    pub deleted_at: Option<Timestamp>,
    #[prost(string, tag = "6")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub name: String,
    #[prost(int64, tag = "7")]
    #[serde(
        default,
        skip_serializing_if = "is_default",
        with = "int_string",
        alias = "route_count"
    )]
    pub route_count: i64,
    #[prost(int64, tag = "8")]
    #[serde(
        default,
        skip_serializing_if = "is_default",
        with = "int_string",
        alias = "policy_count"
    )]
    pub policy_count: i64,
    #[prost(string, tag = "9")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default",
        alias = "originator_id"
    )]
    pub originator_id: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct ListNamespacesRequest {}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct ListNamespacesResponse {
    #[prost(message, repeated, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub namespaces: Vec<Namespace>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct SetNamespaceRequest {
    #[prost(message, optional, tag = "1")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Namespace>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct SetNamespaceResponse {
    #[prost(message, optional, tag = "1")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Namespace>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct DeleteNamespaceRequest {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub id: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct DeleteNamespaceResponse {}

// ---- pomerium.dashboard.UserService ----

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub id: String,
    #[prost(string, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub name: String,
    #[prost(string, tag = "3")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub email: String,
    #[prost(string, repeated, tag = "4")]
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub groups: Vec<String>,
    #[prost(map = "string, string", tag = "5")]
    #[serde(
        default,
        skip_serializing_if = "HashMap::is_empty",
        deserialize_with = "null_default",
        alias = "namespace_roles"
    )]
    pub namespace_roles: HashMap<String, String>,
    #[prost(string, tag = "6")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default",
        alias = "picture_url"
    )]
    pub picture_url: String,
    #[prost(bool, tag = "7")]
    #[serde(
        default,
        skip_serializing_if = "is_default",
        deserialize_with = "null_default",
        alias = "is_impersonated"
    )]
    pub is_impersonated: bool,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct QueryUsersRequest {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub query: String,
    #[prost(int64, tag = "2")]
    #[serde(default, skip_serializing_if = "is_default", with = "int_string")]
    pub offset: i64,
    #[prost(int64, tag = "3")]
    #[serde(default, skip_serializing_if = "is_default", with = "int_string")]
    pub limit: i64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryUsersResponse {
    #[prost(message, repeated, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub users: Vec<UserInfo>,
    #[prost(int64, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "is_default",
        with = "int_string",
        alias = "total_count"
    )]
    pub total_count: i64,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUserInfoRequest {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default",
        alias = "user_id"
    )]
    pub user_id: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUserInfoResponse {
    #[prost(message, optional, tag = "1")]
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "user_info")]
    pub user_info: Option<UserInfo>,
}

// ---- sacon.directory.DirectoryService (sacon's own; Pomerium has no such call) ----

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct ImportUsersRequest {
    #[prost(message, repeated, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub users: Vec<UserInfo>,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct ImportUsersResponse {
    #[prost(int64, tag = "1")]
    #[serde(default, skip_serializing_if = "is_default", with = "int_string")]
    pub inserted: i64,
    #[prost(int64, tag = "2")]
    #[serde(default, skip_serializing_if = "is_default", with = "int_string")]
    pub updated: i64,
}

// ---- sacon.tokens.TokenService (sacon's own) ----

/// Carries a JWT to judge: callers build it from a zeroizing holder and drop it at once.
#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
pub struct InspectTokenRequest {
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub jwt: String,
    /// Judge the token as `/verify` would for this namespace (id or path); empty for none.
    #[prost(string, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub namespace: String,
}

#[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectTokenResponse {
    /// `valid`, `malformed`, `bad_signature`, `not_yet_valid`, `token_expired`, `unknown_account`, `deleted`,
    /// `subject_mismatch`, `account_expired`, `superseded`, `unknown_namespace`, `outside_namespace`.
    #[prost(string, tag = "1")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub verdict: String,
    #[prost(string, tag = "2")]
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub reason: String,
    #[prost(message, optional, tag = "3")]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "service_account"
    )]
    pub service_account: Option<ServiceAccount>,
}

// The messages that carry a JWT wipe it when dropped, wherever they were decoded or built.
macro_rules! zeroize_jwt_on_drop {
    ($($t:ty),*) => {$(
        impl Drop for $t {
            fn drop(&mut self) {
                zeroize::Zeroize::zeroize(&mut self.jwt);
            }
        }
    )*};
}
zeroize_jwt_on_drop!(
    CreateServiceAccountResponse,
    UpdateServiceAccountResponse,
    InspectTokenRequest
);

/// Fully qualified method paths, `/<package>.<Service>/<Method>`.
pub mod paths {
    pub const CONFIG: &str = "pomerium.config.ConfigService";
    pub const NAMESPACES: &str = "pomerium.dashboard.NamespaceService";
    pub const USERS: &str = "pomerium.dashboard.UserService";
    pub const DIRECTORY: &str = "sacon.directory.DirectoryService";

    pub const GET_SERVER_INFO: &str = "/pomerium.config.ConfigService/GetServerInfo";
    pub const CREATE_SERVICE_ACCOUNT: &str = "/pomerium.config.ConfigService/CreateServiceAccount";
    pub const LIST_SERVICE_ACCOUNTS: &str = "/pomerium.config.ConfigService/ListServiceAccounts";
    pub const GET_SERVICE_ACCOUNT: &str = "/pomerium.config.ConfigService/GetServiceAccount";
    pub const UPDATE_SERVICE_ACCOUNT: &str = "/pomerium.config.ConfigService/UpdateServiceAccount";
    pub const DELETE_SERVICE_ACCOUNT: &str = "/pomerium.config.ConfigService/DeleteServiceAccount";
    pub const LIST_NAMESPACES: &str = "/pomerium.dashboard.NamespaceService/ListNamespaces";
    pub const SET_NAMESPACE: &str = "/pomerium.dashboard.NamespaceService/SetNamespace";
    pub const DELETE_NAMESPACE: &str = "/pomerium.dashboard.NamespaceService/DeleteNamespace";
    pub const QUERY_USERS: &str = "/pomerium.dashboard.UserService/QueryUsers";
    pub const GET_USER_INFO: &str = "/pomerium.dashboard.UserService/GetUserInfo";
    pub const IMPORT_USERS: &str = "/sacon.directory.DirectoryService/ImportUsers";
    pub const INSPECT_TOKEN: &str = "/sacon.tokens.TokenService/InspectToken";
}
