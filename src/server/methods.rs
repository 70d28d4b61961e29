//! The dispatch table: every method the server serves, in one place — its path (from the generated schema),
//! its handler, who may call it, how large its request may be, and (from the schema's `NO_SIDE_EFFECTS` marks)
//! whether Connect GET may call it. The README's API table is generated from it.

use std::future::Future;

use axum::body::Bytes;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::handlers::{
    access, accounts, activity, console_accounts, directory, namespaces, permissions, policies,
    routes, tokens,
};
use super::{AppState, Caller};
use crate::api::wire::paths;
use crate::api::{Code, Codec, ConnectError};
use crate::store::Store;

/// Request bodies above this are refused with 413.
pub const MAX_BODY: usize = 64 * 1024;
/// Directory imports are one atomic request, so they may be larger.
pub const MAX_IMPORT_BODY: usize = 16 * 1024 * 1024;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Open,
    /// An authenticated admin caller.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub path: &'static str,
    pub access: Access,
    pub body_limit: usize,
}

impl Spec {
    /// Marked `NO_SIDE_EFFECTS` in the schema, so Connect GET may call it.
    pub fn gettable(&self) -> bool {
        paths::METHODS
            .iter()
            .any(|(path, _, _, no_side_effects)| *path == self.path && *no_side_effects)
    }

    /// `(package.Service, Method)`.
    pub fn names(&self) -> (&'static str, &'static str) {
        paths::METHODS
            .iter()
            .find(|(path, ..)| *path == self.path)
            .map_or(("", self.path), |(_, service, method, _)| {
                (*service, *method)
            })
    }
}

/// The method served at `path`.
pub fn spec(path: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.path == path)
}

async fn unary<Req, Resp, F, Fut>(
    codec: Codec,
    body: Bytes,
    handler: F,
) -> Result<Vec<u8>, ConnectError>
where
    Req: Message + Default + DeserializeOwned,
    Resp: Message + Serialize,
    F: FnOnce(Req) -> Fut,
    Fut: Future<Output = Result<Resp, ConnectError>>,
{
    let request: Req = codec.decode(&body)?;
    let response = handler(request).await?;
    Ok(codec.encode(&response))
}

macro_rules! dispatch_table {
    ($($path:ident => $handler:path, $access:ident, $limit:expr;)*) => {
        /// Every method served.
        pub const SPECS: &[Spec] = &[$(Spec {
            path: paths::$path,
            access: Access::$access,
            body_limit: $limit,
        },)*];

        /// Decodes the request, runs the method's handler and encodes its answer.
        pub async fn call<S: Store>(
            state: &AppState<S>,
            spec: &Spec,
            codec: Codec,
            body: Bytes,
            caller: Caller,
        ) -> Result<Vec<u8>, ConnectError> {
            match spec.path {
                $(paths::$path => unary(codec, body, |r| $handler(state, &caller, r)).await,)*
                other => Err(ConnectError::new(Code::Unimplemented, format!("no method at {other}"))),
            }
        }
    };
}

#[rustfmt::skip]
dispatch_table! {
    GET_SERVER_INFO => accounts::server_info, Open, MAX_BODY;
    CREATE_SERVICE_ACCOUNT => accounts::create, Admin, MAX_BODY;
    LIST_SERVICE_ACCOUNTS => accounts::list, Admin, MAX_BODY;
    GET_SERVICE_ACCOUNT => accounts::get, Admin, MAX_BODY;
    UPDATE_SERVICE_ACCOUNT => accounts::update, Admin, MAX_BODY;
    DELETE_SERVICE_ACCOUNT => accounts::delete, Admin, MAX_BODY;
    ADD_POMERIUM_SERVICE_ACCOUNT => console_accounts::add, Admin, MAX_BODY;
    GET_POMERIUM_SERVICE_ACCOUNT => console_accounts::get, Admin, MAX_BODY;
    LIST_POMERIUM_SERVICE_ACCOUNTS => console_accounts::list, Admin, MAX_BODY;
    SET_POMERIUM_SERVICE_ACCOUNT => console_accounts::set, Admin, MAX_BODY;
    DELETE_POMERIUM_SERVICE_ACCOUNT => console_accounts::delete, Admin, MAX_BODY;
    LIST_NAMESPACES => namespaces::list, Admin, MAX_BODY;
    GET_NAMESPACE => namespaces::get, Admin, MAX_BODY;
    LIST_NAMESPACE_RESOURCES => namespaces::resources, Admin, MAX_BODY;
    SET_NAMESPACE => namespaces::set, Admin, MAX_BODY;
    DELETE_NAMESPACE => namespaces::delete, Admin, MAX_BODY;
    SET_NAMESPACE_PERMISSION => permissions::set, Admin, MAX_BODY;
    GET_NAMESPACE_PERMISSION => permissions::get, Admin, MAX_BODY;
    LIST_NAMESPACE_PERMISSIONS => permissions::list, Admin, MAX_BODY;
    LIST_NAMESPACE_PERMISSION_USERS => permissions::list_users, Admin, MAX_BODY;
    LIST_NAMESPACE_PERMISSION_GROUPS => permissions::list_groups, Admin, MAX_BODY;
    DELETE_NAMESPACE_PERMISSION => permissions::delete, Admin, MAX_BODY;
    QUERY_USERS => directory::query, Admin, MAX_BODY;
    GET_USER_INFO => directory::get, Admin, MAX_BODY;
    QUERY_GROUPS => directory::query_groups, Admin, MAX_BODY;
    GET_GROUP_INFO => directory::get_group, Admin, MAX_BODY;
    IMPORT_USERS => directory::import, Admin, MAX_IMPORT_BODY;
    INSPECT_TOKEN => tokens::inspect, Admin, MAX_BODY;
    GET_ACTIVITY_LOG_ENTRY => activity::get, Admin, MAX_BODY;
    LIST_ACTIVITY_LOG_ENTRIES => activity::list, Admin, MAX_BODY;
    LIST_ENTITY_TYPES => activity::entity_types, Admin, MAX_BODY;
    SET_POLICY => policies::set, Admin, MAX_BODY;
    GET_POLICY => policies::get, Admin, MAX_BODY;
    LIST_POLICIES => policies::list, Admin, MAX_BODY;
    DELETE_POLICY => policies::delete, Admin, MAX_BODY;
    SET_ROUTE => routes::set, Admin, MAX_BODY;
    GET_ROUTE => routes::get, Admin, MAX_BODY;
    LIST_ROUTES => routes::list, Admin, MAX_BODY;
    DELETE_ROUTE => routes::delete, Admin, MAX_BODY;
    CHECK_ACCESS => access::check, Admin, MAX_BODY;
    LIST_ACCOUNT_REACH => access::reach, Admin, MAX_BODY;
    LIST_DANGLING => access::dangling, Admin, MAX_BODY;
}

/// README's API table: one row per service, its methods in schema order, marked when open or GET-able.
pub fn markdown() -> String {
    let mut services: Vec<(&str, Vec<String>)> = Vec::new();
    for (path, service, method, _) in paths::METHODS {
        let Some(spec) = spec(path) else { continue };
        let mut name = (*method).to_string();
        let mut marks = Vec::new();
        if spec.access == Access::Open {
            marks.push("open");
        }
        if spec.gettable() {
            marks.push("GET");
        }
        if !marks.is_empty() {
            name = format!("{name} ({})", marks.join(", "));
        }
        match services.iter_mut().find(|(s, _)| s == service) {
            Some((_, methods)) => methods.push(name),
            None => services.push((service, vec![name])),
        }
    }
    let mut out = String::from("| service | methods |\n|---|---|\n");
    for (service, methods) in services {
        out.push_str(&format!("| `{service}` | {} |\n", methods.join(", ")));
    }
    out
}
