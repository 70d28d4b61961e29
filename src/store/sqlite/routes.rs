//! Routes and the policies each names (in order), created or replaced whole and deleted, each write with its
//! audit row; and the access snapshot `/verify` caches: every route and policy with the access version they were
//! read at, from one read transaction.

use serde_json::Value;
use sqlx::{SqliteConnection, SqlitePool};

use super::audit::{self, Target};
use super::{from_micros, micros};
use crate::policy::model::{AccessSnapshot, Route};
use crate::store::rules::{diff, route_fields as fields, unknown_policy, unknown_route_namespace};
use crate::store::{Change, StoreResult};

const COLUMNS: &str =
    "id, namespace_id, name, description, from_url, prefix, originator_id, created_at, modified_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    namespace_id: String,
    name: String,
    description: Option<String>,
    from_url: String,
    prefix: Option<String>,
    originator_id: String,
    created_at: i64,
    modified_at: i64,
}

impl Row {
    fn into_route(self, policy_ids: Vec<String>) -> StoreResult<Route> {
        Ok(Route {
            created_at: from_micros(self.created_at)?,
            modified_at: from_micros(self.modified_at)?,
            id: self.id,
            namespace_id: self.namespace_id,
            name: self.name,
            description: self.description,
            from: self.from_url,
            prefix: self.prefix,
            policy_ids,
            originator_id: self.originator_id,
        })
    }
}

async fn policy_ids(conn: &mut SqliteConnection, route_id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT policy_id FROM route_policies WHERE route_id = ? ORDER BY position",
    )
    .bind(route_id)
    .fetch_all(conn)
    .await?)
}

pub(super) async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Route>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM routes ORDER BY id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let links: Vec<(String, String)> = sqlx::query_as(
        "SELECT route_id, policy_id FROM route_policies ORDER BY route_id, position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_route: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for (route, policy) in links {
        by_route.entry(route).or_default().push(policy);
    }
    rows.into_iter()
        .map(|r| {
            let ids = by_route.remove(&r.id).unwrap_or_default();
            r.into_route(ids)
        })
        .collect()
}

pub(super) async fn list_pool(pool: &SqlitePool) -> StoreResult<Vec<Route>> {
    let mut tx = pool.begin().await?;
    let routes = list(&mut tx).await?;
    tx.commit().await?;
    Ok(routes)
}

pub(super) async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Route>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM routes WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let ids = policy_ids(conn, id).await?;
            Ok(Some(r.into_route(ids)?))
        }
    }
}

pub(super) async fn version(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT version FROM access_version WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

/// Every route and policy and the version they are at, from one snapshot.
pub(super) async fn snapshot(pool: &SqlitePool) -> StoreResult<AccessSnapshot> {
    let mut tx = pool.begin().await?;
    let version = version(&mut tx).await?;
    let routes = list(&mut tx).await?;
    let policies = super::policies::list(&mut tx).await?;
    let namespaces = super::namespaces::list_on(&mut tx).await?;
    tx.commit().await?;
    Ok(AccessSnapshot {
        version,
        routes,
        policies,
        namespaces,
    })
}

fn target<'a>(action: &'static str, r: &'a Route) -> Target<'a> {
    Target {
        action,
        kind: "route",
        id: &r.id,
        namespace_id: &r.namespace_id,
        name: &r.name,
    }
}

async fn set_links(conn: &mut SqliteConnection, r: &Route) -> StoreResult<()> {
    sqlx::query("DELETE FROM route_policies WHERE route_id = ?")
        .bind(&r.id)
        .execute(&mut *conn)
        .await?;
    for (position, policy) in r.policy_ids.iter().enumerate() {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM policies WHERE id = ?")
            .bind(policy)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(unknown_policy(policy));
        }
        sqlx::query("INSERT INTO route_policies (route_id, policy_id, position) VALUES (?, ?, ?)")
            .bind(&r.id)
            .bind(policy)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Creates the route (`r.id` not yet taken) or replaces the fields and policies of the one with its id, keeping
/// its `created_at` and `originator_id`. An unchanged route writes nothing.
pub(super) async fn put(
    conn: &mut SqliteConnection,
    r: &Route,
    change: &Change,
) -> StoreResult<Route> {
    let hit: Option<i64> = sqlx::query_scalar("SELECT 1 FROM namespaces WHERE id = ?")
        .bind(&r.namespace_id)
        .fetch_optional(&mut *conn)
        .await?;
    if hit.is_none() {
        return Err(unknown_route_namespace(&r.namespace_id));
    }
    let at = micros(change.at);
    match get(conn, &r.id).await? {
        Some(old) => {
            let mut new = r.clone();
            new.created_at = old.created_at;
            new.originator_id = old.originator_id.clone();
            new.modified_at = old.modified_at;
            if new == old {
                return Ok(old);
            }
            new.modified_at = from_micros(at)?;
            sqlx::query(
                "UPDATE routes SET namespace_id = ?, name = ?, description = ?, from_url = ?, prefix = ?, \
                 modified_at = ? WHERE id = ?",
            )
            .bind(&new.namespace_id)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&new.from)
            .bind(&new.prefix)
            .bind(at)
            .bind(&new.id)
            .execute(&mut *conn)
            .await?;
            if new.policy_ids != old.policy_ids {
                set_links(conn, &new).await?;
            }
            let detail = diff(fields(&old), fields(&new));
            audit::record(conn, change, target("update", &new), &detail).await?;
            Ok(new)
        }
        None => {
            let mut new = r.clone();
            new.created_at = from_micros(at)?;
            new.modified_at = new.created_at;
            sqlx::query(
                "INSERT INTO routes (id, namespace_id, name, description, from_url, prefix, originator_id, \
                 created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&new.id)
            .bind(&new.namespace_id)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&new.from)
            .bind(&new.prefix)
            .bind(&new.originator_id)
            .bind(at)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            set_links(conn, &new).await?;
            audit::record(
                conn,
                change,
                target("create", &new),
                &Value::Object(fields(&new)),
            )
            .await?;
            Ok(new)
        }
    }
}

/// Removes one policy from a route (a policy being deleted), audited as the route's update.
pub(super) async fn detach_policy(
    conn: &mut SqliteConnection,
    route_id: &str,
    policy_id: &str,
    change: &Change,
) -> StoreResult<()> {
    let Some(old) = get(conn, route_id).await? else {
        return Ok(());
    };
    let mut new = old.clone();
    new.policy_ids.retain(|p| p != policy_id);
    new.modified_at = change.at;
    sqlx::query("DELETE FROM route_policies WHERE route_id = ? AND policy_id = ?")
        .bind(route_id)
        .bind(policy_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE routes SET modified_at = ? WHERE id = ?")
        .bind(micros(change.at))
        .bind(route_id)
        .execute(&mut *conn)
        .await?;
    let detail = diff(fields(&old), fields(&new));
    audit::record(conn, change, target("update", &new), &detail).await
}

/// Deletes a route (its policy links go with it) and returns it; `None` for an unknown id.
pub(super) async fn delete(
    conn: &mut SqliteConnection,
    id: &str,
    change: &Change,
) -> StoreResult<Option<Route>> {
    let Some(r) = get(conn, id).await? else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM routes WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    audit::record(
        conn,
        change,
        target("delete", &r),
        &Value::Object(fields(&r)),
    )
    .await?;
    Ok(Some(r))
}
