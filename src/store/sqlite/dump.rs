//! Reads a whole SQLite store into a [`Dump`] from one read transaction (one snapshot, however many other
//! connections write meanwhile).

use sqlx::SqliteConnection;

use super::{accounts, audit, from_micros, namespaces, permissions, policies, routes, users};
use crate::store::StoreResult;
use crate::store::dump::{Dump, parents_first};

pub(super) async fn read(conn: &mut SqliteConnection) -> StoreResult<Dump> {
    let namespaces = parents_first(namespaces::list_on(conn).await?);
    let users: Vec<users::Row> =
        sqlx::query_as("SELECT id, name, email, groups FROM users ORDER BY num")
            .fetch_all(&mut *conn)
            .await?;
    let users = users
        .into_iter()
        .map(users::Row::into_user)
        .collect::<StoreResult<_>>()?;
    let rows: Vec<accounts::Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM service_accounts ORDER BY created_at, id",
        accounts::COLUMNS
    )))
    .fetch_all(&mut *conn)
    .await?;
    let accounts = rows
        .into_iter()
        .map(accounts::Row::into_record)
        .collect::<StoreResult<_>>()?;
    let stones: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, issued_at FROM account_tombstones ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    let tombstones = stones
        .into_iter()
        .map(|(id, at)| Ok((id, from_micros(at)?)))
        .collect::<StoreResult<_>>()?;
    let permissions = permissions::list_on(conn).await?;
    let policies = policies::list(conn).await?;
    let routes = routes::list(conn).await?;
    let entries: Vec<audit::AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM audit_log ORDER BY seq",
        audit::COLUMNS
    )))
    .fetch_all(&mut *conn)
    .await?;
    let audit = entries
        .into_iter()
        .map(audit::entry)
        .collect::<StoreResult<_>>()?;
    Ok(Dump {
        namespaces,
        users,
        accounts,
        tombstones,
        permissions,
        policies,
        routes,
        audit,
    })
}
