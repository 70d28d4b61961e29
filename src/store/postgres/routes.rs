//! Routes and the policies each names (in order), created or replaced whole and deleted, each write with its
//! audit row and holding the access lock; the access version; and the access snapshot `/verify` caches: every
//! route, policy and namespace with the version they were read at, from one snapshot.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgConnection;

use super::audit::{self, Target};
use super::failure::PgResult;
use super::{from_micros, lock_access, micros};
use crate::policy::model::{AccessSnapshot, Route};
use crate::store::Change;
use crate::store::StoreResult;
use crate::store::rules::{diff, route_fields as fields, unknown_policy, unknown_route_namespace};

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

async fn policy_ids(conn: &mut PgConnection, route_id: &str) -> PgResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT policy_id FROM route_policies WHERE route_id = $1 ORDER BY position",
    )
    .bind(route_id)
    .fetch_all(conn)
    .await?)
}

/// Every route with its policies; run in one snapshot.
pub(super) async fn list(conn: &mut PgConnection) -> PgResult<Vec<Route>> {
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
    let mut by_route: HashMap<String, Vec<String>> = HashMap::new();
    for (route, policy) in links {
        by_route.entry(route).or_default().push(policy);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let ids = by_route.remove(&r.id).unwrap_or_default();
            r.into_route(ids)
        })
        .collect::<StoreResult<_>>()?)
}

pub(super) async fn get(conn: &mut PgConnection, id: &str) -> PgResult<Option<Route>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM routes WHERE id = $1"
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

pub(super) async fn version(conn: &mut PgConnection) -> PgResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT version FROM access_version WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

/// Every route, policy and namespace and the version they are at; run in one snapshot.
pub(super) async fn snapshot(conn: &mut PgConnection) -> PgResult<AccessSnapshot> {
    let version = version(conn).await?;
    let routes = list(conn).await?;
    let policies = super::policies::list(conn).await?;
    let namespaces = super::namespaces::list(conn).await?;
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

/// Replaces the route's policy links, in order, with one statement; every id must name a policy.
async fn set_links(conn: &mut PgConnection, r: &Route) -> PgResult<()> {
    sqlx::query("DELETE FROM route_policies WHERE route_id = $1")
        .bind(&r.id)
        .execute(&mut *conn)
        .await?;
    for policy in &r.policy_ids {
        if super::policies::get(conn, policy).await?.is_none() {
            return Err(unknown_policy(policy).into());
        }
    }
    let positions: Vec<i64> = (0..r.policy_ids.len() as i64).collect();
    sqlx::query(
        "INSERT INTO route_policies (route_id, policy_id, position) \
         SELECT $1, p, n FROM UNNEST($2::text[], $3::bigint[]) AS t(p, n)",
    )
    .bind(&r.id)
    .bind(&r.policy_ids)
    .bind(&positions)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Creates the route (`r.id` not yet taken) or replaces the fields and policies of the one with its id, keeping
/// its `created_at` and `originator_id`. An unchanged route writes nothing.
pub(super) async fn put(conn: &mut PgConnection, r: &Route, change: &Change) -> PgResult<Route> {
    lock_access(conn).await?;
    if !super::namespaces::exists(conn, &r.namespace_id).await? {
        return Err(unknown_route_namespace(&r.namespace_id).into());
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
                "UPDATE routes SET namespace_id = $1, name = $2, description = $3, from_url = $4, \
                 prefix = $5, modified_at = $6 WHERE id = $7",
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
                 created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
    conn: &mut PgConnection,
    route_id: &str,
    policy_id: &str,
    change: &Change,
) -> PgResult<()> {
    let Some(old) = get(conn, route_id).await? else {
        return Ok(());
    };
    let mut new = old.clone();
    new.policy_ids.retain(|p| p != policy_id);
    new.modified_at = change.at;
    sqlx::query("DELETE FROM route_policies WHERE route_id = $1 AND policy_id = $2")
        .bind(route_id)
        .bind(policy_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE routes SET modified_at = $1 WHERE id = $2")
        .bind(micros(change.at))
        .bind(route_id)
        .execute(&mut *conn)
        .await?;
    let detail = diff(fields(&old), fields(&new));
    audit::record(conn, change, target("update", &new), &detail).await
}

/// Deletes a route (its policy links go with it) and returns it; `None` for an unknown id.
pub(super) async fn delete(
    conn: &mut PgConnection,
    id: &str,
    change: &Change,
) -> PgResult<Option<Route>> {
    lock_access(conn).await?;
    let Some(r) = get(conn, id).await? else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM routes WHERE id = $1")
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
