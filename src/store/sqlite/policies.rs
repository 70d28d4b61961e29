//! Policies: created or replaced whole, deleted only when no route names them (or detached from those routes in
//! the same transaction), each write with its audit row (an update records the changed fields before and after).
//! The migration's triggers bump the access version with every write.

use serde_json::{Value, json};
use sqlx::{SqliteConnection, SqlitePool};

use super::audit::{self, Target};
use super::{from_micros, micros};
use crate::policy::model::Policy;
use crate::store::rules::{diff, policy_fields as fields, policy_in_use, unknown_route_namespace};
use crate::store::{Change, StoreError, StoreResult};

const COLUMNS: &str = "id, namespace_id, name, description, allowed_users, allowed_domains, ppl, enforced, \
                       originator_id, created_at, modified_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    namespace_id: String,
    name: String,
    description: String,
    allowed_users: String,
    allowed_domains: String,
    ppl: String,
    enforced: i64,
    originator_id: String,
    created_at: i64,
    modified_at: i64,
}

fn strings(id: &str, what: &str, json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Internal(format!("policy {id}: stored {what} {json:?}: {e}")))
}

impl Row {
    fn into_policy(self) -> StoreResult<Policy> {
        Ok(Policy {
            allowed_users: strings(&self.id, "allowed users", &self.allowed_users)?,
            allowed_domains: strings(&self.id, "allowed domains", &self.allowed_domains)?,
            created_at: from_micros(self.created_at)?,
            modified_at: from_micros(self.modified_at)?,
            enforced: self.enforced != 0,
            id: self.id,
            namespace_id: self.namespace_id,
            name: self.name,
            description: self.description,
            ppl: self.ppl,
            originator_id: self.originator_id,
        })
    }
}

pub(super) async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Policy>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM policies ORDER BY id"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_policy).collect()
}

pub(super) async fn list_pool(pool: &SqlitePool) -> StoreResult<Vec<Policy>> {
    let mut conn = pool.acquire().await?;
    list(&mut conn).await
}

pub(super) async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Policy>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM policies WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_policy).transpose()
}

fn target<'a>(action: &'static str, p: &'a Policy) -> Target<'a> {
    Target {
        action,
        kind: "policy",
        id: &p.id,
        namespace_id: &p.namespace_id,
        name: &p.name,
    }
}

async fn namespace_exists(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    let hit: Option<i64> = sqlx::query_scalar("SELECT 1 FROM namespaces WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match hit {
        Some(_) => Ok(()),
        None => Err(unknown_route_namespace(id)),
    }
}

/// Creates the policy (`p.id` not yet taken) or replaces the fields of the one with its id; `created_at` and
/// `originator_id` of an existing policy are kept, `modified_at` is the change's time. An unchanged policy writes
/// nothing.
pub(super) async fn put(
    conn: &mut SqliteConnection,
    p: &Policy,
    change: &Change,
) -> StoreResult<Policy> {
    namespace_exists(conn, &p.namespace_id).await?;
    let at = micros(change.at);
    let users = json!(p.allowed_users).to_string();
    let domains = json!(p.allowed_domains).to_string();
    match get(conn, &p.id).await? {
        Some(old) => {
            let mut new = p.clone();
            new.created_at = old.created_at;
            new.originator_id = old.originator_id.clone();
            new.modified_at = old.modified_at;
            if new == old {
                return Ok(old);
            }
            new.modified_at = from_micros(at)?;
            sqlx::query(
                "UPDATE policies SET namespace_id = ?, name = ?, description = ?, allowed_users = ?, \
                 allowed_domains = ?, ppl = ?, enforced = ?, modified_at = ? WHERE id = ?",
            )
            .bind(&new.namespace_id)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&users)
            .bind(&domains)
            .bind(&new.ppl)
            .bind(i64::from(new.enforced))
            .bind(at)
            .bind(&new.id)
            .execute(&mut *conn)
            .await?;
            let detail = diff(fields(&old), fields(&new));
            audit::record(conn, change, target("update", &new), &detail).await?;
            Ok(new)
        }
        None => {
            let mut new = p.clone();
            new.created_at = from_micros(at)?;
            new.modified_at = new.created_at;
            sqlx::query(
                "INSERT INTO policies (id, namespace_id, name, description, allowed_users, allowed_domains, \
                 ppl, enforced, originator_id, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&new.id)
            .bind(&new.namespace_id)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&users)
            .bind(&domains)
            .bind(&new.ppl)
            .bind(i64::from(new.enforced))
            .bind(&new.originator_id)
            .bind(at)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            let detail = Value::Object(fields(&new));
            audit::record(conn, change, target("create", &new), &detail).await?;
            Ok(new)
        }
    }
}

/// The routes naming a policy, as `(route id, route name)`, by name.
pub(super) async fn routes_of(
    conn: &mut SqliteConnection,
    policy_id: &str,
) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.name FROM route_policies rp JOIN routes r ON r.id = rp.route_id \
         WHERE rp.policy_id = ? ORDER BY r.name, r.id",
    )
    .bind(policy_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes a policy and returns it (`None` for an unknown id). Routes that name it refuse the delete with
/// `FailedPrecondition`, unless `detach`: then it is removed from them first, each route's change audited.
pub(super) async fn delete(
    conn: &mut SqliteConnection,
    id: &str,
    detach: bool,
    change: &Change,
) -> StoreResult<Option<Policy>> {
    let Some(p) = get(conn, id).await? else {
        return Ok(None);
    };
    let routes = routes_of(conn, id).await?;
    if !routes.is_empty() && !detach {
        return Err(policy_in_use(&p, &routes));
    }
    for (route_id, _) in &routes {
        super::routes::detach_policy(conn, route_id, id, change).await?;
    }
    sqlx::query("DELETE FROM policies WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    audit::record(
        conn,
        change,
        target("delete", &p),
        &Value::Object(fields(&p)),
    )
    .await?;
    Ok(Some(p))
}
