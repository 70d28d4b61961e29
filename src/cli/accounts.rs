//! `sacon accounts list|create|show|update|rotate|disable|enable|delete`. A new or rotated JWT goes alone on
//! stdout (one line) and nowhere else; everything said about it goes to stderr. An account is named by its id or a
//! unique prefix of it. Listings build the API filter from the namespace tree and flags, and mark each account
//! unique or impersonated by looking its user id up once, and active, expired or disabled.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::account_rows::{AccountJson, CSV_HEADER, Row, kinds};
use super::output::{ListFormat, Stdout, Table, render_fields, rfc3339};
use super::{
    CliError, namespace_tree, parse_duration, parse_expiry, resolve_namespace, root_namespace,
    slash_path,
};
use crate::api::convert::opt_ts;
use crate::api::{Client, Code, wire};
use crate::filter::{Expr, Field};
use crate::model::{Expiry, ServiceAccount, sanitize};

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List service accounts.
    List(ListArgs),
    /// Create a service account; prints its JWT alone on stdout and its id on stderr.
    Create(CreateArgs),
    /// Show one service account.
    Show {
        id: String,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = super::output::Format::Table)]
        output: super::output::Format,
    },
    /// Change an account's description or expiry without touching its live token. Prints a new JWT alone on
    /// stdout only when one is needed (an expiry pushed later or cleared; the old token keeps its own expiry).
    Update {
        id: String,
        /// The new description ("" clears it).
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// never, a number of days or years (7d, 30d, 90d, 1y), or a future date YYYY-MM-DD (00:00 UTC).
        #[arg(long, value_name = "WHEN", value_parser = parse_expiry)]
        expires: Option<Expiry>,
    },
    /// Issue a new JWT for an account; prints it alone on stdout. Older tokens stop verifying at once, or
    /// after --grace.
    Rotate {
        id: String,
        /// Keep the account's current token verifying this long (e.g. 10m, max 30d) so clients can switch.
        #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
        grace: Option<Duration>,
    },
    /// Disable an account: its token is refused (by /verify and the API) until it is enabled again. The safe
    /// step before a delete; the token is kept.
    Disable { id: String },
    /// Enable a disabled account: its token verifies again.
    Enable { id: String },
    /// Delete a service account (no confirmation; an unknown id is an error). Policies that still name its user
    /// id are listed on stderr; --from-policies takes it out of them.
    Delete {
        id: String,
        /// Also take the account's user id out of every policy that names it.
        #[arg(long)]
        from_policies: bool,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only accounts created in this namespace (id or path like Global/Engineering).
    #[arg(long, value_name = "ID-or-PATH")]
    pub namespace: Option<String>,
    /// With --namespace: also the accounts of its ancestors, which are usable there too.
    #[arg(long, requires = "namespace")]
    pub include_inherited: bool,
    /// Only accounts whose expiry is before now + DURATION (e.g. 30d); already expired ones are included,
    /// accounts that never expire are not.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expiring_within: Option<Duration>,
    /// Only disabled accounts.
    #[arg(long, conflicts_with = "enabled")]
    pub disabled: bool,
    /// Only enabled accounts.
    #[arg(long)]
    pub enabled: bool,
    /// An API filter object, ANDed with the flags above, e.g. '{"user_id": {"$startsWith": "ci-"}}'.
    #[arg(long, value_name = "JSON", value_parser = parse_filter)]
    pub filter: Option<Value>,
    /// Comma-separated fields to sort by, `-` for descending, e.g. -expires_at,user_id.
    #[arg(long, value_name = "FIELDS")]
    pub order_by: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
    pub output: ListFormat,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Namespace id or path [default: the context's namespace, else the root namespace].
    #[arg(long, value_name = "ID-or-PATH")]
    pub namespace: Option<String>,
    /// The account's user id: a directory user's id makes it impersonated, any other id unique.
    #[arg(long, value_name = "ID", value_parser = non_empty)]
    pub user_id: String,
    /// What the account is for.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// never, a number of days or years (7d, 30d, 90d, 1y), or a future date YYYY-MM-DD (00:00 UTC).
    #[arg(long, value_name = "WHEN", default_value = "never", value_parser = parse_expiry)]
    pub expires: Expiry,
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    Ok(text.to_string())
}

/// The shortest prefix `show`, `update`, `rotate`, `disable`, `enable` and `delete` accept, so a typo does not pick some account.
const MIN_PREFIX: usize = 4;

/// The account named by `given`: its id, or a unique prefix of one (at least four characters).
async fn resolve(client: &Client, given: &str) -> Result<ServiceAccount, CliError> {
    let given = given.trim();
    match client.get_account(given).await {
        Ok(a) => return Ok(a),
        Err(e) if e.code != Code::NotFound => return Err(e.into()),
        Err(_) => {}
    }
    let not_found = || {
        CliError::Api(crate::api::ConnectError::not_found(format!(
            "no service account has the id {given:?}{}",
            if given.chars().count() >= MIN_PREFIX {
                " or an id starting with it"
            } else {
                ""
            }
        )))
    };
    if given.chars().count() < MIN_PREFIX {
        return Err(not_found());
    }
    let (matches, total) = client
        .list_accounts(&crate::api::ListQuery {
            filter: Some(Expr::field(Field::Id).starts_with(given).to_json()),
            order_by: "id".into(),
            offset: 0,
            limit: Some(5),
        })
        .await?;
    match (total, matches.into_iter().next()) {
        (1, Some(a)) => Ok(a),
        (0, _) | (_, None) => Err(not_found()),
        (n, _) => Err(CliError::Usage(format!(
            "{n} service accounts have an id starting with {given:?}; give more of it"
        ))),
    }
}

fn parse_filter(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("a filter is a JSON object, like '{\"user_id\": \"ci-bot\"}'".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

pub async fn run(client: &Client, command: AccountsCommand) -> Result<(), CliError> {
    let out = Stdout::detect();
    match command {
        AccountsCommand::List(args) => list(client, &out, args).await,
        AccountsCommand::Create(args) => create(client, &out, args).await,
        AccountsCommand::Show { id, output } => {
            let account = resolve(client, &id).await?;
            let tree = namespace_tree(client).await?;
            let kinds = kinds(client, std::iter::once(account.user_id.as_str())).await?;
            let row = Row::new(&account, tree.as_ref(), &kinds, None);
            match output {
                super::output::Format::Table => out.write(&render_fields(&row.fields(Utc::now()))),
                super::output::Format::Json => out.json(&row.json()),
            }
        }
        AccountsCommand::Update {
            id,
            description,
            expires,
        } => update(client, &out, &id, description, expires).await,
        AccountsCommand::Rotate { id, grace } => {
            let id = resolve(client, &id).await?.id;
            let (account, jwt) = client.rotate_account_with_grace(&id, grace).await?;
            out.secret_line(&jwt)?;
            let old = match grace.filter(|g| !g.is_zero()) {
                Some(g) => format!(
                    "older tokens keep working for {}",
                    humantime::format_duration(g)
                ),
                None => "older tokens no longer verify".to_string(),
            };
            eprintln!(
                "issued a new token for service account {}; {old}",
                sanitize(&account.id)
            );
            Ok(())
        }
        AccountsCommand::Disable { id } => set_disabled(client, &id, true).await,
        AccountsCommand::Enable { id } => set_disabled(client, &id, false).await,
        AccountsCommand::Delete { id, from_policies } => {
            let account = resolve(client, &id).await?;
            client.delete_account(&account.id).await?;
            let user = sanitize(&account.user_id);
            eprintln!(
                "deleted service account {} (user {user})",
                sanitize(&account.id)
            );
            // A server without policies (a plain Pomerium) has nothing to say here.
            if from_policies {
                let names = client.remove_user_from_policies(&account.user_id).await?;
                if !names.is_empty() {
                    eprintln!(
                        "took {user} out of {} polic{}: {}",
                        names.len(),
                        if names.len() == 1 { "y" } else { "ies" },
                        sanitize(&names.join(", "))
                    );
                }
            } else if let Ok(policies) = client.list_policies("").await {
                let naming: Vec<String> = policies
                    .into_iter()
                    .filter(|p| p.allowed_users.contains(&account.user_id))
                    .map(|p| p.name)
                    .collect();
                if !naming.is_empty() {
                    eprintln!(
                        "note: {user} is still named by {}; `sacon accounts delete --from-policies` or `sacon policies revoke` takes it out",
                        sanitize(&naming.join(", "))
                    );
                }
            }
            Ok(())
        }
    }
}

/// Disables or enables the account; one line on stderr says what happened (nothing when it already was).
async fn set_disabled(client: &Client, id: &str, disabled: bool) -> Result<(), CliError> {
    let account = resolve(client, id).await?;
    let (id, user) = (sanitize(&account.id), sanitize(&account.user_id));
    if account.disabled == disabled {
        let state = if disabled { "disabled" } else { "enabled" };
        eprintln!("service account {id} (user {user}) is already {state}; nothing changed");
        return Ok(());
    }
    client.set_disabled(&account.id, disabled).await?;
    if disabled {
        eprintln!(
            "disabled service account {id} (user {user}): its token is refused until `sacon accounts enable {id}`"
        );
    } else {
        eprintln!("enabled service account {id} (user {user}): its token verifies again");
    }
    Ok(())
}

async fn update(
    client: &Client,
    out: &Stdout,
    id: &str,
    description: Option<String>,
    expires: Option<Expiry>,
) -> Result<(), CliError> {
    if description.is_none() && expires.is_none() {
        return Err(CliError::Usage(
            "nothing to change: give --description and/or --expires".into(),
        ));
    }
    let account = resolve(client, id).await?;
    let expires_at = expires
        .map(|e| e.resolve(Utc::now()))
        .transpose()
        .map_err(|e| CliError::Usage(format!("--expires: {e}")))?;
    let mut mask = Vec::new();
    if description.is_some() {
        mask.push("description");
    }
    if expires_at.is_some() {
        mask.push("expiresAt");
    }
    let request = wire::ServiceAccount {
        id: Some(account.id.clone()),
        description: description.clone(),
        expires_at: expires_at.flatten().and_then(|e| opt_ts(Some(e))),
        ..Default::default()
    };
    let (updated, jwt) = client.edit_account(request, &mask).await?;
    let expiry = updated
        .expires_at
        .map(rfc3339)
        .unwrap_or_else(|| "never".into());
    match jwt {
        Some(jwt) => {
            out.secret_line(&jwt)?;
            eprintln!(
                "updated service account {}: it now expires {expiry}. The token above carries the new expiry; \
                 the old token keeps working until its own",
                sanitize(&updated.id)
            );
        }
        None => eprintln!(
            "updated service account {} (expires {expiry}); its token is unchanged and keeps working",
            sanitize(&updated.id)
        ),
    }
    Ok(())
}

async fn create(client: &Client, out: &Stdout, args: CreateArgs) -> Result<(), CliError> {
    let now = Utc::now();
    // Checked again at send time: a date valid when parsed may have passed at midnight since.
    let expires_at = args
        .expires
        .resolve(now)
        .map_err(|e| CliError::Usage(format!("--expires: {e}")))?;
    let tree = namespace_tree(client).await?;
    let namespace_id = match (&tree, &args.namespace) {
        (Some(tree), Some(ns)) => Some(resolve_namespace(tree, ns)?.id.clone()),
        (Some(tree), None) => Some(root_namespace(tree)?.id.clone()),
        // A server without namespaces: pass the id through, or let the server pick.
        (None, ns) => ns.clone(),
    };
    let request = wire::ServiceAccount {
        namespace_id,
        user_id: Some(args.user_id.clone()),
        description: args.description.clone().filter(|d| !d.is_empty()),
        expires_at: opt_ts(expires_at),
        ..Default::default()
    };
    let (account, jwt) = client.create_account(request).await?;
    out.secret_line(&jwt)?;
    let namespace = tree
        .as_ref()
        .map(|t| slash_path(t, &account.namespace_id))
        .unwrap_or_else(|| account.namespace_id.clone());
    eprintln!(
        "created service account {} (user {}, namespace {}, expires {})",
        sanitize(&account.id),
        sanitize(&account.user_id),
        sanitize(&namespace),
        account
            .expires_at
            .map(rfc3339)
            .unwrap_or_else(|| "never".into())
    );
    Ok(())
}

async fn list(client: &Client, out: &Stdout, args: ListArgs) -> Result<(), CliError> {
    let now = Utc::now();
    let tree = namespace_tree(client).await?;
    let selected = match (&tree, &args.namespace) {
        (_, None) => None,
        (Some(tree), Some(ns)) => Some(resolve_namespace(tree, ns)?.id.clone()),
        (None, Some(ns)) => Some(ns.clone()),
    };
    let namespace_ids = selected
        .as_ref()
        .map(|id| match (&tree, args.include_inherited) {
            (Some(tree), true) => tree.ancestors_and_self(id),
            _ => vec![id.clone()],
        });
    let before = match args.expiring_within {
        None => None,
        Some(d) => Some(
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now.checked_add_signed(d))
                .ok_or_else(|| {
                    CliError::Usage("--expiring-within is too far in the future".into())
                })?,
        ),
    };
    let disabled = match (args.disabled, args.enabled) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let filter = build_filter(namespace_ids, before, disabled, args.filter);
    let accounts = client
        .list_all_accounts(filter, args.order_by.as_deref().unwrap_or(""))
        .await?;
    let kinds = kinds(client, accounts.iter().map(|a| a.user_id.as_str())).await?;
    let inherited_from = selected.as_deref().filter(|_| args.include_inherited);
    let rows: Vec<Row> = accounts
        .iter()
        .map(|a| Row::new(a, tree.as_ref(), &kinds, inherited_from))
        .collect();
    match args.output {
        ListFormat::Table => {
            if rows.is_empty() {
                eprintln!("no service accounts match");
                return Ok(());
            }
            let mut table = Table::new(&[
                "ID",
                "USER ID",
                "KIND",
                "STATE",
                "PERSON",
                "NAMESPACE",
                "DESCRIPTION",
                "CREATED",
                "EXPIRES",
                "LAST USED",
            ])
            .max_width(1, 40)
            .max_width(4, 40)
            .max_width(5, 40)
            .max_width(6, 40);
            for row in &rows {
                table.push(row.cells(now));
            }
            out.write(&table.render())
        }
        ListFormat::Json => {
            let items: Vec<AccountJson> = rows.iter().map(|r| r.json()).collect();
            out.json(&items)
        }
        ListFormat::Csv => {
            let cells: Vec<Vec<String>> = rows.iter().map(Row::csv).collect();
            out.csv(&CSV_HEADER, &cells)
        }
    }
}

/// The API filter for a listing: namespaces, the expiry bound and the disabled state (ANDed), then `$and` with
/// the caller's own filter. That one stays JSON, passed through as written: the server judges it, and a remote server may know
/// more of the grammar than this client.
fn build_filter(
    namespace_ids: Option<Vec<String>>,
    expires_before: Option<DateTime<Utc>>,
    disabled: Option<bool>,
    extra: Option<Value>,
) -> Option<Value> {
    let mut ours = Vec::new();
    if let Some(ids) = namespace_ids {
        ours.push(Expr::field(Field::NamespaceId).is_any_of(ids));
    }
    if let Some(t) = expires_before {
        ours.push(Expr::field(Field::ExpiresAt).before(t));
    }
    if let Some(d) = disabled {
        ours.push(Expr::field(Field::Disabled).eq(d));
    }
    let ours = match ours.len() {
        0 => return extra,
        1 => ours.remove(0),
        _ => Expr::and(ours),
    };
    Some(match extra {
        None => ours.to_json(),
        Some(extra) => json!({ "$and": [extra, ours.to_json()] }),
    })
}

/// Unique or impersonated for each distinct user id, one look-up per id, a few at a time. A server without a
/// directory has no users to impersonate, so every account there is unique.
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn filters_combine_namespace_expiry_and_the_callers_own() {
        let t = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(build_filter(None, None, None, None), None);
        assert_eq!(
            build_filter(None, None, Some(true), None),
            Some(json!({"disabled": true}))
        );
        assert_eq!(
            build_filter(Some(vec!["a".into()]), None, Some(false), None),
            Some(json!({"$and": [
                {"namespace_id": {"$isAnyOf": ["a"]}},
                {"disabled": false},
            ]}))
        );
        assert_eq!(
            build_filter(Some(vec!["a".into(), "b".into()]), Some(t), None, None),
            Some(json!({"$and": [
                {"namespace_id": {"$isAnyOf": ["a", "b"]}},
                {"expires_at": {"$before": "2027-01-01T00:00:00Z"}},
            ]}))
        );
        let extra = json!({"user_id": {"$startsWith": "ci-"}});
        assert_eq!(
            build_filter(None, None, None, Some(extra.clone())),
            Some(extra.clone())
        );
        assert_eq!(
            build_filter(Some(vec!["a".into()]), None, None, Some(extra.clone())),
            Some(json!({"$and": [extra, {"namespace_id": {"$isAnyOf": ["a"]}}]}))
        );
    }
}
