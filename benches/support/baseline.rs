//! The comparison server for the list-page row: a tiny axum server in the benchmark process that answers
//! ListServiceAccounts on the same Connect path, with the same authentication and JSON codec, over the same
//! SQLite file (read-only), but pages the way a load-everything-then-sort server does: it reads every
//! matching row, sorts them in memory and slices out the page. It knows only the namespace filter the
//! benchmark sends.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use sacon::api::convert::struct_to_json;
use sacon::api::wire::{self, paths};
use sacon::api::{Codec, ConnectError};
use sacon::model::ServiceAccount;
use sacon::server::auth::authenticate;
use sacon::server::connect::error_response;
use sacon::store::{Field, OrderKey, filter};
use sacon::token::SharedSecret;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Baseline {
    pool: SqlitePool,
    secret: SharedSecret,
}

/// A running baseline server; `shutdown` stops it.
pub struct BaselineServer {
    pub url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl BaselineServer {
    /// Serves on 127.0.0.1:0, reading `db` through a read-only pool of the same size and page cache as the
    /// real store's readers.
    pub async fn start(db: &Path, secret: SharedSecret) -> anyhow::Result<BaselineServer> {
        let options = SqliteConnectOptions::new()
            .filename(db)
            .read_only(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("cache_size", "-4096");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let app = Router::new()
            .route(paths::LIST_SERVICE_ACCOUNTS, post(list))
            .with_state(Arc::new(Baseline { pool, secret }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                eprintln!("baseline server stopped with an error: {e}");
            }
        });
        Ok(BaselineServer { url, stop, task })
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn list(State(b): State<Arc<Baseline>>, headers: HeaderMap, body: Bytes) -> Response {
    match answer(&b, &headers, &body).await {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, Codec::Json.content_type())],
            bytes,
        )
            .into_response(),
        Err(e) => error_response(&e),
    }
}

async fn answer(b: &Baseline, headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, ConnectError> {
    authenticate(headers, &b.secret, Utc::now())?;
    let req: wire::ListServiceAccountsRequest = Codec::Json.decode(body)?;
    let namespace = namespace_filter(req.filter.as_ref())?;
    let order = filter::parse_order_by(req.order_by.as_deref().unwrap_or(""))
        .map_err(ConnectError::invalid)?;
    // Every matching row…
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, namespace_id, originator_id, description, user_id, expires_at, created_at, \
         modified_at, accessed_at FROM service_accounts WHERE namespace_id = ?",
    )
    .bind(namespace)
    .fetch_all(&b.pool)
    .await
    .map_err(|e| ConnectError::internal(format!("baseline query: {e}")))?;
    let mut items = rows
        .into_iter()
        .map(Row::into_account)
        .collect::<Result<Vec<_>, _>>()?;
    // …sorted and sliced in memory.
    sort(&mut items, &order)?;
    let limit = req.limit.unwrap_or(u64::MAX);
    let page = items
        .iter()
        .skip(usize::try_from(req.offset.unwrap_or(0)).unwrap_or(usize::MAX))
        .take(limit as usize)
        .map(Into::into)
        .collect();
    Ok(Codec::Json.encode(&wire::ListServiceAccountsResponse {
        service_accounts: page,
        total_count: items.len() as u64,
    }))
}

/// The namespace of `{"namespace_id": "<id>"}` (or `namespaceId`), the only filter the baseline serves.
fn namespace_filter(f: Option<&pbjson_types::Struct>) -> Result<String, ConnectError> {
    let unsupported =
        || ConnectError::invalid("the baseline serves only {\"namespace_id\": \"<id>\"}");
    let json = struct_to_json(f.ok_or_else(unsupported)?);
    let obj = json.as_object().ok_or_else(unsupported)?;
    match obj.iter().collect::<Vec<_>>().as_slice() {
        [(key, serde_json::Value::String(id))]
            if *key == "namespace_id" || *key == "namespaceId" =>
        {
            Ok(id.clone())
        }
        _ => Err(unsupported()),
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    namespace_id: String,
    originator_id: String,
    description: String,
    user_id: String,
    expires_at: Option<i64>,
    created_at: i64,
    modified_at: i64,
    accessed_at: Option<i64>,
}

fn time(micros: i64) -> Result<DateTime<Utc>, ConnectError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| ConnectError::internal(format!("stored time {micros} is out of range")))
}

impl Row {
    fn into_account(self) -> Result<ServiceAccount, ConnectError> {
        Ok(ServiceAccount {
            id: self.id,
            namespace_id: self.namespace_id,
            originator_id: self.originator_id,
            description: self.description,
            user_id: self.user_id,
            expires_at: self.expires_at.map(time).transpose()?,
            created_at: time(self.created_at)?,
            modified_at: time(self.modified_at)?,
            accessed_at: self.accessed_at.map(time).transpose()?,
            disabled: false,
        })
    }
}

/// One key of the in-memory sort, mirroring SQLite's order: a never-expiring account sorts as the far future,
/// a never-used one as the far past (NULL first), text compares bytewise. `issued_at` is not part of a listed
/// account; `sort` refuses it before comparing.
fn compare_by(a: &ServiceAccount, b: &ServiceAccount, field: Field) -> Ordering {
    fn never_last(t: Option<DateTime<Utc>>) -> (bool, Option<DateTime<Utc>>) {
        (t.is_none(), t)
    }
    match field {
        Field::Id => a.id.cmp(&b.id),
        Field::NamespaceId => a.namespace_id.cmp(&b.namespace_id),
        Field::UserId => a.user_id.cmp(&b.user_id),
        Field::Description => a.description.cmp(&b.description),
        Field::OriginatorId => a.originator_id.cmp(&b.originator_id),
        Field::ExpiresAt => never_last(a.expires_at).cmp(&never_last(b.expires_at)),
        Field::AccessedAt => a.accessed_at.cmp(&b.accessed_at),
        Field::CreatedAt => a.created_at.cmp(&b.created_at),
        Field::ModifiedAt => a.modified_at.cmp(&b.modified_at),
        Field::IssuedAt => Ordering::Equal,
        Field::Disabled => a.disabled.cmp(&b.disabled),
    }
}

/// The keys as given (or the default order), then `id` in the direction of the last key, as the SQL store
/// orders.
fn full_order(order: &[OrderKey]) -> Vec<OrderKey> {
    let mut keys = if order.is_empty() {
        filter::DEFAULT_ORDER.to_vec()
    } else {
        order.to_vec()
    };
    if !keys.iter().any(|k| k.field == Field::Id) {
        let descending = keys.last().is_some_and(|k| k.descending);
        keys.push(OrderKey {
            field: Field::Id,
            descending,
        });
    }
    keys
}

fn sort(items: &mut [ServiceAccount], order: &[OrderKey]) -> Result<(), ConnectError> {
    if order.iter().any(|k| k.field == Field::IssuedAt) {
        return Err(ConnectError::invalid(
            "the baseline cannot order by issued_at",
        ));
    }
    let keys = full_order(order);
    items.sort_by(|a, b| {
        for k in &keys {
            let o = compare_by(a, b, k.field);
            let o = if k.descending { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(())
}
