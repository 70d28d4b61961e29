//! The typed async client for the API (reqwest + rustls, Connect unary, JSON by default): credentials, timeouts,
//! a private CA, Connect errors as `ConnectError`, and detection of servers without the namespace or directory
//! services.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::codec::Codec;
use super::convert::json_to_struct;
use super::error::{Code, ConnectError};
use super::wire::{self, paths};
use crate::model::{DirectoryUser, Namespace, ServiceAccount};
use crate::token::{self, SharedSecret};

/// How the client proves it is an admin.
#[derive(Clone)]
pub enum Credentials {
    None,
    /// Sent as `Authorization: Pomerium <token>`.
    Token(Zeroizing<String>),
    /// Fresh bootstrap and exp-only JWTs are made from it for every call, as Pomerium's Go SDK does.
    SharedSecret(SharedSecret),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::None => "Credentials::None",
            Credentials::Token(_) => "Credentials::Token(…)",
            Credentials::SharedSecret(_) => "Credentials::SharedSecret(…)",
        })
    }
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Bounds every call, and is sent as `Connect-Timeout-Ms` so the server bounds it too.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// PEM file of an extra root certificate (a private CA).
    pub ca_file: Option<std::path::PathBuf>,
    pub codec: Codec,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            ca_file: None,
            codec: Codec::Json,
        }
    }
}

/// What the server offers beyond the service-account calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub namespaces: bool,
    pub directory: bool,
}

/// An update's answer.
struct Updated {
    account: ServiceAccount,
    jwt: Jwt,
    new_token_required: bool,
}

/// Query for `ListServiceAccounts`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// A filter object in the grammar of DESIGN.md, e.g. `{"namespace_id": ["a", "b"]}`; build it with
    /// `crate::filter::Expr` and `to_json`. It stays JSON so a caller's own filter reaches the server as written:
    /// the server judges it, and a remote one may accept more than this client's grammar.
    pub filter: Option<serde_json::Value>,
    /// Comma-separated field names, `-` for descending.
    pub order_by: String,
    pub offset: u64,
    /// `None`: every match (upstream's absent limit); `Some(0)`: no accounts, only `totalCount`.
    pub limit: Option<u64>,
}

/// A freshly issued JWT, zeroized when dropped.
pub type Jwt = Zeroizing<String>;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    credentials: Arc<Credentials>,
    options: Arc<ClientOptions>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Client, ConnectError> {
        let base = base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(base)
            .map_err(|e| ConnectError::invalid(format!("API URL {base:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConnectError::invalid(format!(
                "API URL {base:?} must start with http:// or https://"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            // Well under `sacon serve`'s 60 s idle timeout, so the client never reuses a connection the server is
            // closing at that moment.
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("sacon/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_file {
            builder = builder.add_root_certificate(load_ca(path)?);
        }
        let http = builder
            .build()
            .map_err(|e| ConnectError::internal(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base: base.into(),
            credentials: Arc::new(credentials),
            options: Arc::new(options),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(super) async fn call<Req, Resp>(
        &self,
        path: &str,
        request: &Req,
    ) -> Result<Resp, ConnectError>
    where
        Req: Message + Serialize,
        Resp: Message + Default + DeserializeOwned,
    {
        self.call_within(path, request, self.options.timeout, self.options.codec)
            .await
    }

    /// A call bounded by `timeout` instead of the configured one (on both sides, as [`ClientOptions::timeout`]),
    /// in `codec`.
    async fn call_within<Req, Resp>(
        &self,
        path: &str,
        request: &Req,
        timeout: Duration,
        codec: Codec,
    ) -> Result<Resp, ConnectError>
    where
        Req: Message + Serialize,
        Resp: Message + Default + DeserializeOwned,
    {
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .timeout(timeout)
            .header("Content-Type", codec.content_type())
            .header("Connect-Protocol-Version", "1")
            .header("Connect-Timeout-Ms", timeout.as_millis().to_string())
            .body(codec.encode(request));
        match &*self.credentials {
            Credentials::None => {}
            Credentials::Token(t) => {
                req = req.header("Authorization", format!("Pomerium {}", t.as_str()))
            }
            Credentials::SharedSecret(secret) => {
                let now = Utc::now();
                req = req
                    .header(
                        "Authorization",
                        format!("Pomerium {}", token::bootstrap_token(secret, now).as_str()),
                    )
                    .header("jwt", token::exp_only_token(secret, now).as_str());
            }
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(e, timeout))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, timeout))?;
        if status != 200 {
            return Err(ConnectError::from_http(status, &body));
        }
        codec.decode(&body).map_err(|e| {
            ConnectError::new(
                Code::Internal,
                format!("unreadable answer from {}: {}", self.base, e.message),
            )
        })
    }

    fn transport_error(&self, e: reqwest::Error, timeout: Duration) -> ConnectError {
        if e.is_timeout() {
            ConnectError::new(
                Code::DeadlineExceeded,
                format!("{} did not answer within {timeout:?}", self.base),
            )
        } else if e.is_connect() {
            ConnectError::new(
                Code::Unavailable,
                format!("cannot reach {}: {}", self.base, root_cause(&e)),
            )
        } else {
            ConnectError::new(
                Code::Unavailable,
                format!("request to {} failed: {}", self.base, root_cause(&e)),
            )
        }
    }

    pub async fn server_info(&self) -> Result<wire::GetServerInfoResponse, ConnectError> {
        self.call(paths::GET_SERVER_INFO, &wire::GetServerInfoRequest {})
            .await
    }

    /// Creates an account; the JWT in the answer is the only copy there will ever be.
    pub async fn create_account(
        &self,
        account: wire::ServiceAccount,
    ) -> Result<(ServiceAccount, Jwt), ConnectError> {
        let resp: wire::CreateServiceAccountResponse = self
            .call(
                paths::CREATE_SERVICE_ACCOUNT,
                &wire::CreateServiceAccountRequest {
                    service_account: Some(account),
                },
            )
            .await?;
        let mut resp = resp;
        let jwt = Zeroizing::new(std::mem::take(&mut resp.jwt));
        let account = resp.service_account.take().ok_or_else(|| {
            ConnectError::internal("the server answered without the created account")
        })?;
        Ok((account.into(), jwt))
    }

    pub async fn list_accounts(
        &self,
        query: &ListQuery,
    ) -> Result<(Vec<ServiceAccount>, u64), ConnectError> {
        let filter = match &query.filter {
            None => None,
            Some(serde_json::Value::Object(m)) => Some(json_to_struct(m.clone())),
            Some(_) => return Err(ConnectError::invalid("a filter must be a JSON object")),
        };
        let resp: wire::ListServiceAccountsResponse = self
            .call(
                paths::LIST_SERVICE_ACCOUNTS,
                &wire::ListServiceAccountsRequest {
                    offset: (query.offset > 0).then_some(query.offset),
                    limit: query.limit,
                    filter,
                    order_by: (!query.order_by.is_empty()).then(|| query.order_by.clone()),
                },
            )
            .await?;
        Ok((
            resp.service_accounts.into_iter().map(Into::into).collect(),
            resp.total_count,
        ))
    }

    /// Every account matching `filter`, fetched page by page.
    pub async fn list_all_accounts(
        &self,
        filter: Option<serde_json::Value>,
        order_by: &str,
    ) -> Result<Vec<ServiceAccount>, ConnectError> {
        const PAGE: u64 = 500;
        let mut out = Vec::new();
        loop {
            let query = ListQuery {
                filter: filter.clone(),
                order_by: order_by.to_string(),
                offset: out.len() as u64,
                limit: Some(PAGE),
            };
            let (page, total) = self.list_accounts(&query).await?;
            let got = page.len();
            out.extend(page);
            if got == 0 || out.len() as u64 >= total {
                return Ok(out);
            }
        }
    }

    pub async fn get_account(&self, id: &str) -> Result<ServiceAccount, ConnectError> {
        let resp: wire::GetServiceAccountResponse = self
            .call(
                paths::GET_SERVICE_ACCOUNT,
                &wire::GetServiceAccountRequest { id: id.to_string() },
            )
            .await?;
        resp.service_account
            .map(Into::into)
            .ok_or_else(|| ConnectError::internal("the server answered without the account"))
    }

    /// Updates an account (`mask` in snake_case or camelCase; `None` replaces every editable field) and
    /// returns the newly issued JWT.
    pub async fn update_account(
        &self,
        account: wire::ServiceAccount,
        mask: Option<&[&str]>,
    ) -> Result<(ServiceAccount, Jwt), ConnectError> {
        self.update_account_with_grace(account, mask, None).await
    }

    /// As `update_account`; tokens issued before the update keep verifying for `grace` (a sacon extension).
    pub async fn update_account_with_grace(
        &self,
        account: wire::ServiceAccount,
        mask: Option<&[&str]>,
        grace: Option<Duration>,
    ) -> Result<(ServiceAccount, Jwt), ConnectError> {
        let updated = self
            .send_update(account, mask, grace.is_some(), grace)
            .await?;
        Ok((updated.account, updated.jwt))
    }

    /// Changes fields without touching the account's live token. `jwt` is `Some` only when the server says the
    /// new token is needed (an expiry pushed later or cleared: earlier tokens keep their own `exp`).
    pub async fn edit_account(
        &self,
        account: wire::ServiceAccount,
        mask: &[&str],
    ) -> Result<(ServiceAccount, Option<Jwt>), ConnectError> {
        let updated = self.send_update(account, Some(mask), false, None).await?;
        Ok((
            updated.account,
            updated.new_token_required.then_some(updated.jwt),
        ))
    }

    /// Disables or enables an account (sacon's `disabled` extension, by update mask). The token is untouched:
    /// a disabled account's token is refused until it is enabled, then verifies again. A server that answers
    /// without the change does not know the extension: `unimplemented`.
    pub async fn set_disabled(
        &self,
        id: &str,
        disabled: bool,
    ) -> Result<ServiceAccount, ConnectError> {
        let account = wire::ServiceAccount {
            id: Some(id.to_string()),
            disabled: Some(disabled),
            ..Default::default()
        };
        let (updated, _) = self.edit_account(account, &["disabled"]).await?;
        if updated.disabled != disabled {
            return Err(ConnectError::new(
                Code::Unimplemented,
                format!(
                    "the server at {} answered without {} the account: it does not support disabling accounts",
                    self.base,
                    if disabled { "disabling" } else { "enabling" }
                ),
            ));
        }
        Ok(updated)
    }

    async fn send_update(
        &self,
        account: wire::ServiceAccount,
        mask: Option<&[&str]>,
        rotate: bool,
        grace: Option<Duration>,
    ) -> Result<Updated, ConnectError> {
        let update_mask = mask.map(|paths| super::wkt::FieldMask {
            paths: paths
                .iter()
                .map(|p| super::convert::camel_to_snake(p))
                .collect(),
        });
        let mut resp: wire::UpdateServiceAccountResponse = self
            .call(
                paths::UPDATE_SERVICE_ACCOUNT,
                &wire::UpdateServiceAccountRequest {
                    service_account: Some(account),
                    update_mask,
                    grace_period: grace.map(|g| pbjson_types::Duration {
                        seconds: i64::try_from(g.as_secs()).unwrap_or(i64::MAX),
                        nanos: g.subsec_nanos() as i32,
                    }),
                    rotate,
                },
            )
            .await?;
        let jwt = Zeroizing::new(std::mem::take(&mut resp.jwt));
        let account = resp.service_account.take().ok_or_else(|| {
            ConnectError::internal("the server answered without the updated account")
        })?;
        Ok(Updated {
            account: account.into(),
            jwt,
            new_token_required: resp.new_token_required,
        })
    }

    /// Supersedes the account's tokens with a new one (sacon's `rotate`). Sends the account's current fields with
    /// no mask, which changes nothing on any server that speaks this API.
    pub async fn rotate_account(&self, id: &str) -> Result<(ServiceAccount, Jwt), ConnectError> {
        self.rotate_account_with_grace(id, None).await
    }

    /// As `rotate_account`; the old token keeps verifying for `grace`.
    pub async fn rotate_account_with_grace(
        &self,
        id: &str,
        grace: Option<Duration>,
    ) -> Result<(ServiceAccount, Jwt), ConnectError> {
        let current = self.get_account(id).await?;
        let mut wire_account = wire::ServiceAccount::from(&current);
        wire_account.created_at = None;
        wire_account.modified_at = None;
        wire_account.accessed_at = None;
        let updated = self.send_update(wire_account, None, true, grace).await?;
        Ok((updated.account, updated.jwt))
    }

    pub async fn delete_account(&self, id: &str) -> Result<(), ConnectError> {
        let _: wire::DeleteServiceAccountResponse = self
            .call(
                paths::DELETE_SERVICE_ACCOUNT,
                &wire::DeleteServiceAccountRequest { id: id.to_string() },
            )
            .await?;
        Ok(())
    }

    pub async fn list_namespaces(&self) -> Result<Vec<Namespace>, ConnectError> {
        let resp: wire::ListNamespacesResponse = self
            .call(paths::LIST_NAMESPACES, &wire::ListNamespacesRequest {})
            .await?;
        Ok(resp.namespaces.into_iter().map(Into::into).collect())
    }

    /// Creates a namespace when `id` is empty, otherwise renames or moves it.
    pub async fn set_namespace(
        &self,
        id: &str,
        parent_id: &str,
        name: &str,
    ) -> Result<Namespace, ConnectError> {
        let resp: wire::SetNamespaceResponse = self
            .call(
                paths::SET_NAMESPACE,
                &wire::SetNamespaceRequest {
                    namespace: Some(wire::Namespace {
                        id: id.to_string(),
                        parent_id: parent_id.to_string(),
                        name: name.to_string(),
                        ..Default::default()
                    }),
                },
            )
            .await?;
        resp.namespace
            .map(Into::into)
            .ok_or_else(|| ConnectError::internal("the server answered without the namespace"))
    }

    pub async fn delete_namespace(&self, id: &str) -> Result<(), ConnectError> {
        let _: wire::DeleteNamespaceResponse = self
            .call(
                paths::DELETE_NAMESPACE,
                &wire::DeleteNamespaceRequest { id: id.to_string() },
            )
            .await?;
        Ok(())
    }

    pub async fn query_users(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DirectoryUser>, u64), ConnectError> {
        let resp: wire::QueryUsersResponse = self
            .call(
                paths::QUERY_USERS,
                &wire::QueryUsersRequest {
                    query: query.to_string(),
                    offset: i64::try_from(offset).unwrap_or(i64::MAX),
                    limit: i64::try_from(limit).unwrap_or(i64::MAX),
                    cluster_id: None,
                },
            )
            .await?;
        Ok((
            resp.users.into_iter().map(Into::into).collect(),
            resp.total_count.max(0) as u64,
        ))
    }

    /// A page of the activity log, newest first, and how many entries match.
    pub async fn list_activity(
        &self,
        request: wire::ListActivityLogEntriesRequest,
    ) -> Result<(Vec<wire::ActivityLogEntry>, u64), ConnectError> {
        let resp: wire::ListActivityLogEntriesResponse = self
            .call(paths::LIST_ACTIVITY_LOG_ENTRIES, &request)
            .await?;
        Ok((resp.entries, resp.total_count.max(0) as u64))
    }

    /// Every role binding on a namespace the caller may read.
    pub async fn list_permissions(&self) -> Result<Vec<wire::NamespacePermission>, ConnectError> {
        let resp: wire::ListNamespacePermissionsResponse = self
            .call(
                paths::LIST_NAMESPACE_PERMISSIONS,
                &wire::ListNamespacePermissionsRequest {},
            )
            .await?;
        Ok(resp.namespace_permissions)
    }

    /// The user and group bindings that apply in a namespace, its own and inherited (nearest first).
    pub async fn namespace_permissions(
        &self,
        namespace_id: &str,
    ) -> Result<
        (
            Vec<wire::NamespacePermissionUser>,
            Vec<wire::NamespacePermissionGroup>,
        ),
        ConnectError,
    > {
        let users: wire::ListNamespacePermissionUsersResponse = self
            .call(
                paths::LIST_NAMESPACE_PERMISSION_USERS,
                &wire::ListNamespacePermissionUsersRequest {
                    namespace_id: namespace_id.to_string(),
                },
            )
            .await?;
        let groups: wire::ListNamespacePermissionGroupsResponse = self
            .call(
                paths::LIST_NAMESPACE_PERMISSION_GROUPS,
                &wire::ListNamespacePermissionGroupsRequest {
                    namespace_id: namespace_id.to_string(),
                },
            )
            .await?;
        Ok((users.users, groups.groups))
    }

    /// Grants `role` (`viewer`, `manager`, `admin`) on a namespace to a user or group (`subject_type`), or
    /// changes the role of the binding it already has there.
    pub async fn grant(
        &self,
        namespace_id: &str,
        subject_type: &str,
        subject_id: &str,
        role: &str,
    ) -> Result<wire::NamespacePermission, ConnectError> {
        let resp: wire::SetNamespacePermissionResponse = self
            .call(
                paths::SET_NAMESPACE_PERMISSION,
                &wire::SetNamespacePermissionRequest {
                    namespace_permission: Some(wire::NamespacePermission {
                        namespace_id: namespace_id.to_string(),
                        subject_type: subject_type.to_string(),
                        subject_id: subject_id.to_string(),
                        role: role.to_string(),
                        ..Default::default()
                    }),
                },
            )
            .await?;
        resp.namespace_permission
            .ok_or_else(|| ConnectError::internal("the server answered without the permission"))
    }

    /// Removes a binding by id.
    pub async fn revoke(&self, id: &str) -> Result<(), ConnectError> {
        let _: wire::DeleteNamespacePermissionResponse = self
            .call(
                paths::DELETE_NAMESPACE_PERMISSION,
                &wire::DeleteNamespacePermissionRequest { id: id.to_string() },
            )
            .await?;
        Ok(())
    }

    /// Who the server takes this client for, and the roles it holds (`GetUserInfo` without a user id).
    pub async fn whoami(&self) -> Result<wire::UserInfo, ConnectError> {
        let resp: wire::GetUserInfoResponse = self
            .call(
                paths::GET_USER_INFO,
                &wire::GetUserInfoRequest {
                    user_id: None,
                    cluster_id: None,
                },
            )
            .await?;
        resp.user_info
            .ok_or_else(|| ConnectError::internal("the server answered without the user"))
    }

    /// The directory user with this id; `Ok(None)` when there is none.
    pub async fn get_user(&self, user_id: &str) -> Result<Option<DirectoryUser>, ConnectError> {
        let resp: Result<wire::GetUserInfoResponse, _> = self
            .call(
                paths::GET_USER_INFO,
                &wire::GetUserInfoRequest {
                    user_id: Some(user_id.to_string()),
                    cluster_id: None,
                },
            )
            .await;
        match resp {
            Ok(r) => Ok(r.user_info.map(Into::into)),
            Err(e) if e.code == Code::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Inserts or replaces directory users by id, all or nothing; returns (inserted, updated).
    /// Upserts `users` in one atomic call, which may take longer than the configured timeout: see
    /// [`Client::import_timeout`].
    pub async fn import_users(&self, users: &[DirectoryUser]) -> Result<(u64, u64), ConnectError> {
        let resp: wire::ImportUsersResponse = self
            .call_within(
                paths::IMPORT_USERS,
                &wire::ImportUsersRequest {
                    users: users.iter().map(Into::into).collect(),
                },
                self.import_timeout(users.len()),
                // A sacon-only call carrying up to 16 MiB: the binary codec is several times cheaper to encode
                // and decode than JSON, on both sides.
                Codec::Proto,
            )
            .await?;
        Ok((resp.inserted.max(0) as u64, resp.updated.max(0) as u64))
    }

    /// How long an import of `rows` users may take: the configured timeout plus a millisecond per row, since its
    /// one call lasts as long as the server needs to write every row (a few seconds for 50,000 users). Generous
    /// on purpose (a thousand rows a second) so a slow disk or an older server still finishes.
    pub fn import_timeout(&self, rows: usize) -> Duration {
        let rows = u64::try_from(rows).unwrap_or(u64::MAX);
        self.options
            .timeout
            .saturating_add(Duration::from_millis(rows))
    }

    /// Asks the server whether `jwt` would verify now (optionally for a namespace), and why not.
    pub async fn inspect_token(
        &self,
        jwt: &str,
        namespace: Option<&str>,
    ) -> Result<wire::InspectTokenResponse, ConnectError> {
        let request = wire::InspectTokenRequest {
            jwt: jwt.to_string(),
            namespace: namespace.unwrap_or_default().to_string(),
        };
        self.call(paths::INSPECT_TOKEN, &request).await
    }

    /// Probes the namespace and directory services; a server that lacks one answers `unimplemented`.
    pub async fn capabilities(&self) -> Result<Capabilities, ConnectError> {
        let namespaces = present(self.list_namespaces().await)?;
        let directory = present(self.query_users("", 0, 1).await)?;
        Ok(Capabilities {
            namespaces,
            directory,
        })
    }
}

/// `Ok(false)` when the server answered `unimplemented`, `Ok(true)` when it answered, else the error.
fn present<T>(result: Result<T, ConnectError>) -> Result<bool, ConnectError> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.code == Code::Unimplemented => Ok(false),
        Err(e) => Err(e),
    }
}

fn load_ca(path: &Path) -> Result<reqwest::Certificate, ConnectError> {
    let pem = std::fs::read(path).map_err(|e| {
        ConnectError::invalid(format!("cannot read CA file {}: {e}", path.display()))
    })?;
    reqwest::Certificate::from_pem(&pem).map_err(|e| {
        ConnectError::invalid(format!(
            "CA file {} is not a PEM certificate: {e}",
            path.display()
        ))
    })
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
