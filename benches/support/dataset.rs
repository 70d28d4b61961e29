//! The benchmark's data set: 1,000 namespaces holding 1,000,000 service accounts and a directory of 200,000
//! users, generated deterministically through the real store. It is built once under `target/bench-data/`
//! (the folder name carries the generator version and a hash of the migrations, so a schema change rebuilds
//! it), marked complete only when every row is in, and reused; each run works on a fresh copy, so the
//! benchmark's own writes never change the pristine set.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use sacon::model::{DirectoryUser, ServiceAccount};
use sacon::store::{Change, SqliteStore, Store};

/// Bump when the generated data changes, so an old set is not reused.
pub const GENERATOR_VERSION: u32 = 1;
pub const DEPARTMENTS: usize = 10;
pub const TEAMS_PER_DEPARTMENT: usize = 99;
/// Namespaces that hold accounts: the departments and their teams (the root holds none).
pub const NAMESPACES: usize = DEPARTMENTS * (1 + TEAMS_PER_DEPARTMENT);
pub const ACCOUNTS: usize = 1_000_000;
pub const USERS: usize = 200_000;
/// Rows per write transaction while building.
const BATCH: usize = 20_000;
pub const MARKER: &str = "complete";

/// splitmix64: a tiny deterministic generator, so every build makes the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A time uniformly in `[from, to)` at whole seconds (`from` when the range is empty).
    pub fn time_between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
        let span = (to - from).num_seconds();
        if span <= 0 {
            return from;
        }
        from + Duration::seconds(self.below(span as usize) as i64)
    }

    /// A random (version 4) UUID from this generator.
    pub fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

const DEPARTMENT_NAMES: [&str; DEPARTMENTS] = [
    "Engineering",
    "Finance",
    "Sales",
    "Marketing",
    "Operations",
    "Security",
    "Data",
    "Support",
    "Legal",
    "People",
];
/// 33 services × 3 environments = the 99 teams of a department.
const SERVICES: [&str; 33] = [
    "billing",
    "payments",
    "checkout",
    "search",
    "ingest",
    "identity",
    "gateway",
    "ledger",
    "reports",
    "notifications",
    "catalog",
    "inventory",
    "shipping",
    "pricing",
    "analytics",
    "metrics",
    "logging",
    "backup",
    "scheduler",
    "mailer",
    "webhooks",
    "audit",
    "storage",
    "cdn",
    "dns",
    "ci",
    "deploy",
    "registry",
    "vault",
    "warehouse",
    "crm",
    "hr-sync",
    "chat",
];
const ENVIRONMENTS: [&str; 3] = ["prod", "staging", "dev"];
const PURPOSES: [(&str, &str); 12] = [
    ("Deploy pipeline", "deployer"),
    ("Metrics exporter", "exporter"),
    ("Nightly backup", "backup"),
    ("Terraform runner", "terraform"),
    ("Log shipper", "shipper"),
    ("Webhook relay", "relay"),
    ("Health checker", "probe"),
    ("Data sync", "sync"),
    ("Report generator", "reports"),
    ("Load test", "loadtest"),
    ("Schema migration job", "migrate"),
    ("Cache warmer", "warmer"),
];
const FIRST_NAMES: [&str; 64] = [
    "Maria", "James", "Aisha", "Wei", "Olga", "Liam", "Sofia", "Noah", "Priya", "Mateo", "Yuki",
    "Elena", "Omar", "Hannah", "Diego", "Fatima", "Lucas", "Ingrid", "Kwame", "Chloe", "Ravi",
    "Zofia", "Tomas", "Amara", "Felix", "Leila", "Jonas", "Mei", "Pedro", "Nadia", "Erik", "Anya",
    "Samuel", "Camila", "Hiroshi", "Grace", "Ivan", "Lucia", "Xavier", "Freya", "Andre", "Rosa",
    "Dmitri", "Emma", "Kofi", "Isabel", "Quentin", "Mila", "Rafael", "Sara", "Bjorn", "Leah",
    "Tariq", "Julia", "Viktor", "Ana", "Hugo", "Nora", "Arjun", "Clara", "Marco", "Ines", "Kenji",
    "Alice",
];
const LAST_NAMES: [&str; 96] = [
    "Garcia",
    "Smith",
    "Nguyen",
    "Kowalski",
    "Okafor",
    "Johnson",
    "Müller",
    "Rossi",
    "Tanaka",
    "Silva",
    "Andersson",
    "Haddad",
    "Novak",
    "Patel",
    "Kim",
    "Dubois",
    "Jensen",
    "Ivanova",
    "Mensah",
    "Lopez",
    "Chen",
    "Williams",
    "Schmidt",
    "Yilmaz",
    "Costa",
    "Nielsen",
    "Sato",
    "Fischer",
    "Moreau",
    "Hansen",
    "Brown",
    "Singh",
    "Ali",
    "Kaur",
    "Jones",
    "Martin",
    "Bernard",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Russo",
    "Romano",
    "Ferrari",
    "Santos",
    "Oliveira",
    "Pereira",
    "Lindberg",
    "Berg",
    "Larsen",
    "Virtanen",
    "Korhonen",
    "Horvath",
    "Kovacs",
    "Popescu",
    "Petrov",
    "Sokolov",
    "Kuznetsov",
    "Wójcik",
    "Dvorak",
    "Svoboda",
    "Nakamura",
    "Kobayashi",
    "Watanabe",
    "Li",
    "Wang",
    "Zhang",
    "Liu",
    "Park",
    "Choi",
    "Tran",
    "Pham",
    "Khan",
    "Ahmed",
    "Hassan",
    "Ibrahim",
    "Adeyemi",
    "Owusu",
    "Diallo",
    "Traore",
    "Cohen",
    "Levi",
    "Friedman",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Walsh",
    "Byrne",
    "MacLeod",
    "Campbell",
    "Stewart",
    "Evans",
    "Davies",
    "Thomas",
    "Roberts",
    "Anderson",
    "Taylor",
];
const EXTRA_GROUPS: [&str; 6] = [
    "oncall",
    "admins",
    "contractors",
    "vpn-users",
    "github-org",
    "okta-mfa",
];
const EMAIL_DOMAINS: [&str; 3] = ["example.com", "corp.example.com", "example.org"];

/// A built data set: `pristine/` is the data directory as generated, `run/` the copy a run works on.
pub struct Dataset {
    pub root: PathBuf,
}

impl Dataset {
    pub fn pristine(&self) -> PathBuf {
        self.root.join("pristine")
    }

    /// Replaces `run/` with a fresh copy of the pristine data directory and returns its path.
    pub fn fresh_run_dir(&self) -> anyhow::Result<PathBuf> {
        let run = self.root.join("run");
        if run.exists() {
            std::fs::remove_dir_all(&run).with_context(|| format!("removing {}", run.display()))?;
        }
        private_dir(&run)?;
        for entry in std::fs::read_dir(self.pristine())? {
            let entry = entry?;
            let name = entry.file_name();
            // The -shm file is rebuilt from the database and WAL; copying a stale one would be wrong.
            if name.to_string_lossy().ends_with("-shm") {
                continue;
            }
            std::fs::copy(entry.path(), run.join(&name))
                .with_context(|| format!("copying {}", entry.path().display()))?;
            // A data set built before sacon insisted on private files still starts.
            std::fs::set_permissions(
                run.join(&name),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )?;
            // On disk before the server starts: otherwise the kernel flushes the gigabyte just copied while
            // the benchmark runs, and every fsync of the server's waits behind it.
            std::fs::File::open(run.join(&name))
                .and_then(|f| f.sync_all())
                .with_context(|| format!("syncing {}", run.join(&name).display()))?;
        }
        Ok(run)
    }
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/` in the crate).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

pub fn private_dir(path: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// FNV-1a over the migrations (names and contents, in name order): stable across toolchains, unlike std's
/// hasher, so the folder name only changes when the schema does.
pub fn schema_hash() -> anyhow::Result<u64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
        for b in name.unwrap_or_default().bytes().chain(bytes) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(h)
}

/// The data set for this schema and generator, built now unless a complete one exists.
pub async fn ensure() -> anyhow::Result<Dataset> {
    let base = target_dir().join("bench-data");
    let name = format!("api-v{GENERATOR_VERSION}-{:016x}", schema_hash()?);
    let root = base.join(&name);
    if root.join(MARKER).is_file() {
        eprintln!("bench data: reusing {}", root.display());
        return Ok(Dataset { root });
    }
    // Older sets (another schema or generator) are a gigabyte each; a half-built one is useless.
    if base.is_dir() {
        for entry in std::fs::read_dir(&base)? {
            let entry = entry?;
            let stale = entry.file_name().to_string_lossy().starts_with("api-");
            if stale {
                eprintln!("bench data: removing {}", entry.path().display());
                std::fs::remove_dir_all(entry.path())?;
            }
        }
    }
    let dataset = Dataset { root };
    private_dir(&dataset.pristine())?;
    let started = Instant::now();
    eprintln!(
        "bench data: building {} (first run only; {NAMESPACES} namespaces, {USERS} users, {ACCOUNTS} accounts)",
        dataset.root.display()
    );
    build(&dataset.pristine()).await?;
    let secs = started.elapsed().as_secs_f64();
    std::fs::write(
        dataset.root.join(MARKER),
        format!(
            "generator {GENERATOR_VERSION}\nnamespaces {NAMESPACES}\nusers {USERS}\naccounts {ACCOUNTS}\nbuilt_in_seconds {secs:.1}\n"
        ),
    )?;
    eprintln!("bench data: built in {secs:.1} s");
    Ok(dataset)
}

/// Where a namespace's accounts come from: its service and environment (departments use their own name).
struct Home {
    id: String,
    service: String,
    env: &'static str,
}

async fn build(dir: &Path) -> anyhow::Result<()> {
    // The data directory as sacon makes it: private directory, secret and database files.
    let store = sacon::server::open_data_dir(&sacon::server::ServerConfig::new(dir))
        .await?
        .store
        .into_sqlite()
        .context("a data directory without --database-url is SQLite")?;
    let now = Utc::now();
    let mut rng = Rng::new(0x5ac0_2024);
    let homes = build_namespaces(&store, now).await?;
    let user_ids = build_users(&store, &mut rng, now).await?;
    build_accounts(&store, &mut rng, now, &homes, &user_ids).await?;
    // Closing checkpoints the WAL into the database file, so the copy a run makes is one file.
    store.close().await;
    Ok(())
}

async fn build_namespaces(store: &SqliteStore, now: DateTime<Utc>) -> anyhow::Result<Vec<Home>> {
    let started = Instant::now();
    let change = Change::by("bench-seed", now - Duration::days(900));
    let root = store
        .list_namespaces()
        .await?
        .into_iter()
        .find(|n| n.parent_id.is_empty())
        .context("the store has no root namespace")?;
    let mut homes = Vec::with_capacity(NAMESPACES);
    for dept in DEPARTMENT_NAMES {
        let d = store.create_namespace(&root.id, dept, "", &change).await?;
        homes.push(Home {
            id: d.id.clone(),
            service: dept.to_lowercase(),
            env: "prod",
        });
        for team in 0..TEAMS_PER_DEPARTMENT {
            let service = SERVICES[team / ENVIRONMENTS.len()];
            let env = ENVIRONMENTS[team % ENVIRONMENTS.len()];
            let t = store
                .create_namespace(&d.id, &format!("{service}-{env}"), "", &change)
                .await?;
            homes.push(Home {
                id: t.id,
                service: service.to_string(),
                env,
            });
        }
    }
    if homes.len() != NAMESPACES {
        bail!("made {} namespaces, expected {NAMESPACES}", homes.len());
    }
    eprintln!(
        "bench data: {NAMESPACES} namespaces ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(homes)
}

fn make_user(rng: &mut Rng, taken: &mut std::collections::HashMap<String, u32>) -> DirectoryUser {
    let first = *rng.pick(&FIRST_NAMES);
    let last = *rng.pick(&LAST_NAMES);
    let stem: String = format!("{first}.{last}")
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let seen = taken.entry(stem.clone()).or_insert(0);
    *seen += 1;
    let id = if *seen == 1 {
        stem
    } else {
        format!("{stem}{seen}")
    };
    let mut groups = vec![rng.pick(&DEPARTMENT_NAMES).to_lowercase()];
    for _ in 0..rng.below(3) {
        let g = rng.pick(&EXTRA_GROUPS).to_string();
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    DirectoryUser {
        email: format!("{id}@{}", rng.pick(&EMAIL_DOMAINS)),
        name: format!("{first} {last}"),
        id,
        groups,
    }
}

async fn build_users(
    store: &SqliteStore,
    rng: &mut Rng,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let change = Change::by("bench-seed", now - Duration::days(800));
    let mut taken = std::collections::HashMap::new();
    let mut ids = Vec::with_capacity(USERS);
    while ids.len() < USERS {
        let n = BATCH.min(USERS - ids.len());
        let batch: Vec<DirectoryUser> = (0..n).map(|_| make_user(rng, &mut taken)).collect();
        store.upsert_users(&batch, &change).await?;
        ids.extend(batch.into_iter().map(|u| u.id));
        eprintln!(
            "bench data: users {}/{USERS} ({:.1} s)",
            ids.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ids)
}

/// One account of `home`, created at `created`: a mix of impersonated and unique user ids, expiries
/// (never, past, future) and use.
fn make_account(
    rng: &mut Rng,
    now: DateTime<Utc>,
    created: DateTime<Utc>,
    home: &Home,
    user_ids: &[String],
) -> ServiceAccount {
    let (purpose, slug) = *rng.pick(&PURPOSES);
    let user_id = if rng.chance(60) {
        rng.pick(user_ids).clone()
    } else {
        format!(
            "svc-{}-{}-{slug}-{}",
            home.service,
            home.env,
            1 + rng.below(40)
        )
    };
    let description = match rng.below(100) {
        0..8 => String::new(),
        8..30 => format!(
            "{purpose} for {} ({}), OPS-{}",
            home.service,
            home.env,
            1000 + rng.below(9000)
        ),
        _ => format!("{purpose} for {} ({})", home.service, home.env),
    };
    let expires_at = match rng.below(100) {
        0..25 => None,
        25..37 => Some(rng.time_between(created + Duration::hours(1), now)),
        _ => Some(rng.time_between(now + Duration::days(1), now + Duration::days(730))),
    };
    let used_until = expires_at.map_or(now, |e| e.min(now));
    let accessed_at = rng
        .chance(50)
        .then(|| rng.time_between(created, used_until));
    let originator_id = if rng.chance(30) {
        rng.pick(user_ids).clone()
    } else {
        String::new()
    };
    ServiceAccount {
        id: rng.uuid(),
        namespace_id: home.id.clone(),
        originator_id,
        description,
        user_id,
        expires_at,
        created_at: created,
        modified_at: created,
        accessed_at,
        disabled: false,
    }
}

async fn build_accounts(
    store: &SqliteStore,
    rng: &mut Rng,
    now: DateTime<Utc>,
    homes: &[Home],
    user_ids: &[String],
) -> anyhow::Result<()> {
    let started = Instant::now();
    let batches = ACCOUNTS.div_ceil(BATCH);
    let first = now - Duration::days(730);
    let step = Duration::days(729) / batches as i32;
    let mut done = 0;
    for b in 0..batches {
        // The store stamps created_at with the change's time: each batch is one moment in the last two years.
        let created = first + step * b as i32;
        let change = Change::by("bench-seed", created);
        let n = BATCH.min(ACCOUNTS - done);
        let batch: Vec<ServiceAccount> = (done..done + n)
            .map(|i| make_account(rng, now, created, &homes[i % homes.len()], user_ids))
            .collect();
        store.create_accounts(&batch, created, &change).await?;
        done += n;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "bench data: accounts {done}/{ACCOUNTS} ({secs:.1} s, {:.0}/s)",
            done as f64 / secs
        );
    }
    Ok(())
}
