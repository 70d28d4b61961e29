//! Policies: created or replaced whole, deleted only when no route names them (or detached from those routes in
//! the same transaction), each write with its audit row (an update records the changed fields before and after).
//! Writes hold the access lock; the schema's triggers bump the access version with every one.

use serde_json::{Value, json};
use sqlx::PgConnection;

use super::audit::{self, Target};
use super::failure::PgResult;
use super::{from_micros, lock_access, micros};
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
    enforced: bool,
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
            enforced: self.enforced,
            id: self.id,
            namespace_id: self.namespace_id,
            name: self.name,
            description: self.description,
            ppl: self.ppl,
            originator_id: self.originator_id,
        })
    }
}

pub(super) async fn list(conn: &mut PgConnection) -> PgResult<Vec<Policy>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM policies ORDER BY id"
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(Row::into_policy)
        .collect::<StoreResult<_>>()?)
}

pub(super) async fn get(conn: &mut PgConnection, id: &str) -> PgResult<Option<Policy>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM policies WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_policy).transpose()?)
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

/// Creates the policy (`p.id` not yet taken) or replaces the fields of the one with its id; `created_at` and
/// `originator_id` of an existing policy are kept, `modified_at` is the change's time. An unchanged policy writes
/// nothing.
pub(super) async fn put(conn: &mut PgConnection, p: &Policy, change: &Change) -> PgResult<Policy> {
    lock_access(conn).await?;
    if !super::namespaces::exists(conn, &p.namespace_id).await? {
        return Err(unknown_route_namespace(&p.namespace_id).into());
    }
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
                "UPDATE policies SET namespace_id = $1, name = $2, description = $3, allowed_users = $4, \
                 allowed_domains = $5, ppl = $6, enforced = $7, modified_at = $8 WHERE id = $9",
            )
            .bind(&new.namespace_id)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&users)
            .bind(&domains)
            .bind(&new.ppl)
            .bind(new.enforced)
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
                 ppl, enforced, originator_id, created_at, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&new.id)
            .bind(&new.namespace_id)
            .bind(&new.name)
            .bind(&new.description)
            .bind(&users)
            .bind(&domains)
            .bind(&new.ppl)
            .bind(new.enforced)
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
    conn: &mut PgConnection,
    policy_id: &str,
) -> PgResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.name FROM route_policies rp JOIN routes r ON r.id = rp.route_id \
         WHERE rp.policy_id = $1 ORDER BY r.name, r.id",
    )
    .bind(policy_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes a policy and returns it (`None` for an unknown id). Routes that name it refuse the delete with
/// `FailedPrecondition`, unless `detach`: then it is removed from them first, each route's change audited.
pub(super) async fn delete(
    conn: &mut PgConnection,
    id: &str,
    detach: bool,
    change: &Change,
) -> PgResult<Option<Policy>> {
    lock_access(conn).await?;
    let Some(p) = get(conn, id).await? else {
        return Ok(None);
    };
    let routes = routes_of(conn, id).await?;
    if !routes.is_empty() && !detach {
        return Err(policy_in_use(&p, &routes).into());
    }
    for (route_id, _) in &routes {
        super::routes::detach_policy(conn, route_id, id, change).await?;
    }
    sqlx::query("DELETE FROM policies WHERE id = $1")
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
