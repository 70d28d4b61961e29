//! The activity benchmark's data set and queries: 1,000,000 audit entries over a namespace tree of about 150
//! namespaces up to four levels deep, skewed (Zipf) so a few namespaces and actors hold most entries. The
//! namespaces are made through the real store; the entries are one bulk INSERT transaction straight into the
//! SQLite file (the audit log only refuses UPDATE and DELETE). Built once under `target/bench-data/activity-…`
//! (generator version and migration hash in the name), reused, and copied afresh for each run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use sacon::api::{Client, wire};
use sacon::model::NamespaceTree;
use sacon::store::{Change, Store};

use super::dataset::{self, Dataset, MARKER, Rng};

/// Bump when the generated data changes, so an old set is not reused.
pub const GENERATOR_VERSION: u32 = 1;
pub const ENTRIES: usize = 1_000_000;
/// Distinct actors: people, bots and the root credential.
const ACTORS: usize = 300;
/// The Zipf exponents of namespace and actor popularity.
const NAMESPACE_SKEW: f64 = 1.1;
const ACTOR_SKEW: f64 = 1.0;

const DEPARTMENTS: [(&str, [&str; 5]); 6] = [
    (
        "Engineering",
        ["Platform", "Payments", "Search", "Mobile", "Infra"],
    ),
    (
        "Finance",
        ["Accounting", "Treasury", "Billing", "Procurement", "Audit"],
    ),
    ("Sales", ["EMEA", "Americas", "APAC", "Partners", "Ops"]),
    (
        "Operations",
        ["SRE", "Network", "Facilities", "Support", "Release"],
    ),
    (
        "Security",
        ["AppSec", "Identity", "Detection", "Compliance", "Red Team"],
    ),
    ("Data", ["Warehouse", "ML", "Analytics", "Streaming", "BI"]),
];
const TEAMS: [&str; 12] = [
    "api", "web", "workers", "ingest", "reports", "cache", "gateway", "batch", "edge", "core",
    "sync", "tools",
];
const ENVIRONMENTS: [&str; 3] = ["prod", "staging", "dev"];
const PEOPLE: [&str; 24] = [
    "maria", "james", "aisha", "wei", "olga", "liam", "sofia", "noah", "priya", "mateo", "yuki",
    "elena", "omar", "hannah", "diego", "fatima", "lucas", "ingrid", "kwame", "chloe", "ravi",
    "zofia", "tomas", "amara",
];
const BOTS: [&str; 8] = [
    "deployer",
    "terraform",
    "rotator",
    "backup",
    "ci",
    "sync",
    "exporter",
    "provisioner",
];

/// The data set for this schema and generator, built now unless a complete one exists.
pub async fn ensure() -> anyhow::Result<Dataset> {
    let base = dataset::target_dir().join("bench-data");
    let name = format!(
        "activity-v{GENERATOR_VERSION}-{:016x}",
        dataset::schema_hash()?
    );
    let root = base.join(&name);
    if root.join(MARKER).is_file() {
        eprintln!("bench data: reusing {}", root.display());
        return Ok(Dataset { root });
    }
    if base.is_dir() {
        for entry in std::fs::read_dir(&base)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with("activity-") {
                eprintln!("bench data: removing {}", entry.path().display());
                std::fs::remove_dir_all(entry.path())?;
            }
        }
    }
    let dataset = Dataset { root };
    dataset::private_dir(&dataset.pristine())?;
    let started = Instant::now();
    eprintln!(
        "bench data: building {} (first run only; {ENTRIES} audit entries)",
        dataset.root.display()
    );
    let namespaces = build(&dataset.pristine()).await?;
    let secs = started.elapsed().as_secs_f64();
    std::fs::write(
        dataset.root.join(MARKER),
        format!(
            "generator {GENERATOR_VERSION}\nnamespaces {namespaces}\nentries {ENTRIES}\nbuilt_in_seconds {secs:.1}\n"
        ),
    )?;
    eprintln!("bench data: built in {secs:.1} s");
    Ok(dataset)
}

/// A namespace made for the set: its id and the user id stem its accounts get.
struct Made {
    id: String,
    stem: String,
}

/// Makes the tree through the store (each department has 3-5 groups, each group 2-4 teams, a quarter of the
/// teams split into prod/staging/dev), then bulk-inserts the entries. Returns the number of namespaces.
async fn build(dir: &Path) -> anyhow::Result<usize> {
    let started = Instant::now();
    let store = sacon::server::open_data_dir(&sacon::server::ServerConfig::new(dir))
        .await?
        .store
        .into_sqlite()
        .context("a data directory without --database-url is SQLite")?;
    let now = Utc::now();
    let change = Change::by("bench-seed", now - chrono::Duration::days(800));
    let root = store
        .list_namespaces()
        .await?
        .into_iter()
        .find(|n| n.parent_id.is_empty())
        .context("the store has no root namespace")?;
    let mut rng = Rng::new(0xac71_0009);
    let mut made = Vec::new();
    for (dept, groups) in DEPARTMENTS {
        let d = store.create_namespace(&root.id, dept, "", &change).await?;
        made.push(Made {
            id: d.id.clone(),
            stem: dept.to_lowercase(),
        });
        for group in &groups[..3 + rng.below(3)] {
            let g = store.create_namespace(&d.id, group, "", &change).await?;
            let group_stem = group.to_lowercase().replace(' ', "-");
            made.push(Made {
                id: g.id.clone(),
                stem: group_stem.clone(),
            });
            let first = rng.below(TEAMS.len());
            for k in 0..2 + rng.below(3) {
                let team = TEAMS[(first + k) % TEAMS.len()];
                let t = store.create_namespace(&g.id, team, "", &change).await?;
                let team_stem = format!("{group_stem}-{team}");
                made.push(Made {
                    id: t.id.clone(),
                    stem: team_stem.clone(),
                });
                if rng.chance(25) {
                    for env in ENVIRONMENTS {
                        let e = store.create_namespace(&t.id, env, "", &change).await?;
                        made.push(Made {
                            id: e.id,
                            stem: format!("{team_stem}-{env}"),
                        });
                    }
                }
            }
        }
    }
    // Closing checkpoints the WAL, so the bulk insert below is the only writer.
    store.close().await;
    eprintln!(
        "bench data: {} namespaces ({:.1} s)",
        made.len(),
        started.elapsed().as_secs_f64()
    );
    let db = sacon::config::database_path(dir);
    tokio::task::spawn_blocking({
        let db = db.clone();
        move || insert_entries(&db, &made, now).map(|()| made.len())
    })
    .await
    .context("the bulk insert panicked")?
}

/// Cumulative Zipf weights over `n` ranks; the rank of a draw is found by binary search.
fn zipf(n: usize, s: f64) -> Vec<f64> {
    let mut acc = 0.0;
    (1..=n)
        .map(|rank| {
            acc += 1.0 / (rank as f64).powf(s);
            acc
        })
        .collect()
}

fn draw(cumulative: &[f64], rng: &mut Rng) -> usize {
    let total = cumulative.last().copied().unwrap_or(1.0);
    let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
    cumulative
        .partition_point(|&c| c < x)
        .min(cumulative.len() - 1)
}

/// The actors, most active first after shuffling: people, bots (`svc-…`), `root` and `local:…`.
fn actors(rng: &mut Rng) -> Vec<String> {
    let mut all = vec!["root".to_string(), "local:admin".to_string()];
    while all.len() < ACTORS {
        let i = all.len();
        all.push(if i % 3 == 0 {
            format!("svc-{}-{}", rng.pick(&BOTS), i)
        } else {
            format!("{}.{}", rng.pick(&PEOPLE), i)
        });
    }
    // Popularity is not alphabetical: shuffle before ranking.
    for i in (1..all.len()).rev() {
        all.swap(i, rng.below(i + 1));
    }
    all
}

fn insert_entries(
    db: &Path,
    namespaces: &[Made],
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut rng = Rng::new(0x0a0d_17e5);
    // Popularity by a shuffled rank, so the busiest namespace is not always the first department.
    let mut order: Vec<usize> = (0..namespaces.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let ns_weights = zipf(namespaces.len(), NAMESPACE_SKEW);
    let actors = actors(&mut rng);
    let actor_weights = zipf(actors.len(), ACTOR_SKEW);
    let mut conn = rusqlite::Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -262_144)?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO audit_log \
             (at, actor, action, target_kind, target_id, detail, namespace_id, entity_name) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )?;
        // Two years of history, evenly spaced, so time order is write order.
        let first = (now - chrono::Duration::days(730)).timestamp_micros();
        let step = chrono::Duration::days(730).num_microseconds().unwrap_or(1) / ENTRIES as i64;
        for i in 0..ENTRIES {
            let ns = &namespaces[order[draw(&ns_weights, &mut rng)]];
            let actor = &actors[draw(&actor_weights, &mut rng)];
            let at = first + step * i as i64;
            let (action, kind) = match rng.below(100) {
                0..30 => ("create", "service_account"),
                30..70 => ("update", "service_account"),
                70..85 => ("rotate", "service_account"),
                85..95 => ("delete", "service_account"),
                95..98 => ("update", "namespace"),
                _ => ("create", "namespace"),
            };
            let (target_id, name, detail) = if kind == "namespace" {
                (
                    ns.id.clone(),
                    ns.stem.clone(),
                    format!(r#"{{"name":"{}","parentId":""}}"#, ns.stem),
                )
            } else {
                let user = format!("svc-{}-{}", ns.stem, rng.below(60));
                let detail = match action {
                    "update" => format!(
                        r#"{{"before":{{"description":"v{0}"}},"after":{{"description":"v{1}"}}}}"#,
                        rng.below(9),
                        1 + rng.below(9)
                    ),
                    _ => format!(r#"{{"userId":"{user}","namespaceId":"{}"}}"#, ns.id),
                };
                (rng.uuid(), user, detail)
            };
            insert.execute(rusqlite::params![
                at, actor, action, kind, target_id, detail, ns.id, name
            ])?;
            if (i + 1) % 200_000 == 0 {
                eprintln!(
                    "bench data: entries {}/{ENTRIES} ({:.1} s)",
                    i + 1,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
    drop(conn);
    if !db.exists() {
        bail!("{} vanished", db.display());
    }
    Ok(())
}

/// One timed request shape: a subtree (by its path), optionally one actor.
#[derive(Debug, Clone)]
pub struct Query {
    pub label: String,
    pub request: wire::ListActivityLogEntriesRequest,
}

/// Subtrees at every depth (the root, the busiest department, a group, a leaf) by the entries they hold, and,
/// for the actor queries, the busiest actor plus a middling and a rare one.
pub async fn queries(client: &Client) -> anyhow::Result<(Vec<Query>, Vec<Query>)> {
    let tree = NamespaceTree::new(client.list_namespaces().await?);
    let root = tree
        .roots()
        .first()
        .cloned()
        .context("the server has no root namespace")?;
    // The entries each namespace holds in its subtree, from the server itself.
    let mut subtrees = Vec::new();
    for ns in tree.subtree(&root) {
        let (_, total) = client
            .list_activity(subtree(&ns, None, 0))
            .await
            .context("counting a subtree")?;
        subtrees.push((tree.depth(&ns), total, ns));
    }
    let busiest_at = |depth: usize| {
        subtrees
            .iter()
            .filter(|(d, _, _)| *d == depth)
            .max_by_key(|(_, total, _)| *total)
            .map(|(_, _, id)| id.clone())
    };
    let deepest = subtrees.iter().map(|(d, _, _)| *d).max().unwrap_or(0);
    let mut picks = vec![root.clone()];
    picks.extend(busiest_at(1));
    picks.extend(busiest_at(2));
    // A leaf of middling size: the median leaf by entries.
    let mut leaves: Vec<&(usize, u64, String)> =
        subtrees.iter().filter(|(d, _, _)| *d == deepest).collect();
    leaves.sort_by_key(|(_, total, _)| *total);
    if let Some((_, _, id)) = leaves.get(leaves.len() / 2) {
        picks.push(id.clone());
    }
    let path = |id: &str| tree.path_names(id).join("/");
    let plain = picks
        .iter()
        .map(|id| Query {
            label: path(id),
            request: subtree(id, None, 50),
        })
        .collect();

    // Actors by how many entries they wrote in the whole log.
    let (sample, _) = client
        .list_activity(subtree(&root, None, 5_000))
        .await
        .context("sampling actors")?;
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for e in sample {
        *counts.entry(e.user_id).or_default() += 1;
    }
    let mut by_count: Vec<(usize, String)> = counts.into_iter().map(|(a, n)| (n, a)).collect();
    by_count.sort();
    by_count.reverse();
    let actor_picks: Vec<String> = [0, by_count.len() / 4, by_count.len() * 3 / 4]
        .into_iter()
        .filter_map(|i| by_count.get(i).map(|(_, a)| a.clone()))
        .collect();
    let mut with_actor = Vec::new();
    for id in picks.iter().take(3) {
        for actor in &actor_picks {
            with_actor.push(Query {
                label: format!("{} by {actor}", path(id)),
                request: subtree(id, Some(actor), 50),
            });
        }
    }
    Ok((plain, with_actor))
}

fn subtree(id: &str, actor: Option<&str>, limit: i64) -> wire::ListActivityLogEntriesRequest {
    wire::ListActivityLogEntriesRequest {
        namespace_id: Some(id.to_string()),
        recurse_namespace: Some(true),
        user_id: actor.map(String::from),
        limit: Some(limit),
        ..Default::default()
    }
}

/// Runs the request and checks the page: as many entries as it asked for (or all there are), newest first.
pub async fn list(client: &Client, q: &Query) -> anyhow::Result<u64> {
    let (entries, total) = client.list_activity(q.request.clone()).await?;
    let want = q.request.limit.unwrap_or(0).max(0) as u64;
    if entries.len() as u64 != want.min(total) || total == 0 {
        bail!("{}: {} entries of {total}", q.label, entries.len());
    }
    let seqs: Vec<i64> = entries.iter().filter_map(|e| e.id.parse().ok()).collect();
    if seqs.len() != entries.len() || seqs.windows(2).any(|w| w[0] <= w[1]) {
        bail!("{}: the page is not newest first", q.label);
    }
    if let Some(actor) = &q.request.user_id
        && entries.iter().any(|e| &e.user_id != actor)
    {
        bail!("{}: an entry of another actor", q.label);
    }
    Ok(total)
}

/// `samples` requests cycling through `queries` after a warm-up; all samples, and per query its total and own
/// samples.
pub async fn time(
    client: &Client,
    queries: &[Query],
    warm_up: usize,
    samples: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<(String, u64, Vec<Duration>)>)> {
    let mut per_query: Vec<(String, u64, Vec<Duration>)> = Vec::new();
    for q in queries {
        per_query.push((q.label.clone(), list(client, q).await?, Vec::new()));
    }
    for q in queries.iter().cycle().take(warm_up) {
        list(client, q).await?;
    }
    let mut all = Vec::with_capacity(samples);
    for i in 0..samples {
        let k = i % queries.len();
        let t = Instant::now();
        list(client, &queries[k]).await?;
        let d = t.elapsed();
        all.push(d);
        per_query[k].2.push(d);
    }
    Ok((all, per_query))
}
