//! The scripting CLI run as the built binary: embedded mode on a temporary data directory, and remote mode
//! against `sacon serve --listen 127.0.0.1:0` in a child process. Checks stdout/stderr contracts (a JWT alone
//! on stdout), the three output formats, namespace paths, directory import atomicity and the exit codes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::{Duration, Utc};
use sacon::token::{Claims, SharedSecret, verify_service_account};
use serde_json::Value;

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    fn ok(self) -> Output {
        assert_eq!(
            self.code, 0,
            "expected success; stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// The last stderr line, where a failure is reported (after any note about a new data directory).
    fn error(&self) -> &str {
        assert_eq!(
            self.stderr
                .lines()
                .filter(|l| l.starts_with("error: "))
                .count(),
            1,
            "one error line: {}",
            self.stderr
        );
        self.stderr.lines().last().unwrap_or("")
    }

    /// The one line a token command prints.
    fn single_line(&self) -> &str {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "stdout must be one line: {:?}", self.stdout);
        assert!(self.stdout.ends_with('\n'));
        lines[0]
    }
}

/// A scratch area: `home` stands in for $HOME and $XDG_DATA_HOME so nothing touches the real ones.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sacon"));
        cmd.args(args)
            .env_remove("SACON_TOKEN")
            .env_remove("SACON_CONTEXT")
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("NO_COLOR", "1")
            .env("USER", "tester")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Runs against the embedded console in this scratch's data directory, without the demo directory.
    fn embedded(&self, args: &[&str]) -> Output {
        let dir = self.data_dir();
        let mut all = vec!["--data-dir", dir.to_str().unwrap(), "--no-demo"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    fn secret(&self) -> SharedSecret {
        SharedSecret::load(&sacon::config::secret_path(&self.data_dir())).unwrap()
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// `sacon serve` in a child process; killed when dropped.
struct Served {
    scratch: Scratch,
    child: Child,
    url: String,
}

impl Served {
    fn start() -> Served {
        let scratch = Scratch::new();
        let data = scratch.data_dir();
        let mut child = scratch
            .command(&[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (url, _rest) = crate::support::serve::listening_url(&mut child);
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Served {
            scratch,
            child,
            url,
        }
    }

    /// Runs a command against the server, authenticated with its shared secret file.
    fn remote(&self, args: &[&str]) -> Output {
        let secret = sacon::config::secret_path(&self.scratch.data_dir());
        let mut all = vec![
            "--api-url",
            &self.url,
            "--shared-secret-file",
            secret.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        self.scratch.run(&all)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn verify(secret: &SharedSecret, jwt: &str) -> Claims {
    verify_service_account(secret, jwt, Utc::now(), Duration::seconds(5))
        .unwrap_or_else(|e| panic!("the printed JWT does not verify: {e}"))
}

/// The account id in `created service account <id> (…)` on stderr.
fn created_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("created service account "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no account id on stderr: {stderr}"))
        .to_string()
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn create_prints_the_jwt_alone_on_stdout_and_the_id_on_stderr() {
    let s = Scratch::new();
    let out = s
        .embedded(&[
            "accounts",
            "create",
            "--user-id",
            "ci-bot",
            "--description",
            "nightly build",
            "--expires",
            "30d",
        ])
        .ok();
    assert!(
        out.stderr.contains("created data directory"),
        "a new data directory is announced: {}",
        out.stderr
    );
    let jwt = out.single_line().to_string();
    assert!(!out.stderr.contains(&jwt), "the JWT must not reach stderr");
    let id = created_id(&out.stderr);
    let claims = verify(&s.secret(), &jwt);
    assert_eq!(claims.jti, id);
    assert_eq!(claims.sub, "ci-bot");
    let exp = claims.exp.expect("a 30d account has exp");
    let want = (Utc::now() + Duration::days(30)).timestamp();
    assert!(
        (exp - want).abs() < 120,
        "exp {exp} is not 30 days out ({want})"
    );

    // Said once: the second start finds the data directory.
    let again = s
        .embedded(&["accounts", "create", "--user-id", "forever"])
        .ok();
    assert!(!again.stderr.contains("created data directory"));
    let claims = verify(&s.secret(), again.single_line());
    assert_eq!(claims.exp, None, "`never` is the default and has no exp");

    // `TOKEN=$(…)`: the account is there, with the description given.
    let shown = s
        .embedded(&["accounts", "show", &id, "--output", "json"])
        .ok();
    let v = shown.json();
    assert_eq!(v["user_id"], "ci-bot");
    assert_eq!(v["description"], "nightly build");
    assert_eq!(v["kind"], "unique");
    assert_eq!(v["accessed_at"], Value::Null);
}

#[test]
fn listings_by_namespace_path_inheritance_and_expiry_in_three_formats() {
    let s = Scratch::new();
    let eng = s
        .embedded(&["namespaces", "create", "Engineering"])
        .ok()
        .single_line()
        .to_string();
    let created = s
        .embedded(&[
            "namespaces",
            "create",
            "Platform",
            "--parent",
            "Global/Engineering",
        ])
        .ok();
    assert!(
        created
            .stderr
            .contains("created namespace Global/Engineering/Platform")
    );
    let platform = created.single_line().to_string();
    s.embedded(&["namespaces", "create", "Finance", "--parent", "Global"])
        .ok();

    let tree = s.embedded(&["namespaces", "list"]).ok().stdout;
    let lines: Vec<&str> = tree.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE"), "{tree}");
    assert!(lines[1].starts_with("Global "), "{tree}");
    assert!(lines[2].starts_with("  Engineering "), "{tree}");
    assert!(lines[3].starts_with("    Platform "), "{tree}");
    assert!(lines[3].contains(&platform), "{tree}");
    assert!(lines[4].starts_with("  Finance "), "{tree}");
    let json = s
        .embedded(&["namespaces", "list", "-o", "json"])
        .ok()
        .json();
    let eng_json = json
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == eng.as_str())
        .unwrap();
    assert_eq!(eng_json["path"], "Global/Engineering");

    let users = s.write(
        "users.json",
        r#"[{"id": "alice", "name": "Alice", "email": "alice@example.com", "groups": ["eng"]}]"#,
    );
    s.embedded(&["directory", "import", users.to_str().unwrap()])
        .ok();

    let create = |ns: &str, user: &str, expires: &str| {
        created_id(
            &s.embedded(&[
                "accounts",
                "create",
                "--namespace",
                ns,
                "--user-id",
                user,
                "--expires",
                expires,
            ])
            .ok()
            .stderr,
        )
    };
    let root_acc = create("Global", "root-bot", "never");
    let eng_acc = create(&eng, "alice", "7d");
    let plat_acc = create("Engineering/Platform", "plat-bot", "90d");
    let fin_acc = create("Global/Finance", "fin-bot", "1y");

    let own = s
        .embedded(&[
            "accounts",
            "list",
            "--namespace",
            "Global/Engineering/Platform",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(ids(&own), vec![plat_acc.clone()]);
    assert_eq!(own[0]["namespace"], "Global/Engineering/Platform");
    assert!(own[0].get("inherited").is_none());

    let usable = s
        .embedded(&[
            "accounts",
            "list",
            "--namespace",
            &platform,
            "--include-inherited",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        ids(&usable),
        sorted(vec![root_acc.clone(), eng_acc.clone(), plat_acc.clone()])
    );
    for a in usable.as_array().unwrap() {
        assert_eq!(a["inherited"], a["id"] != plat_acc.as_str());
    }

    let soon = s
        .embedded(&["accounts", "list", "--expiring-within", "30d", "-o", "json"])
        .ok()
        .json();
    assert_eq!(ids(&soon), vec![eng_acc.clone()]);
    assert_eq!(soon[0]["kind"], "impersonated", "alice is a directory user");

    let csv = s.embedded(&["accounts", "list", "-o", "csv"]).ok().stdout;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&header[..3], ["id", "user_id", "kind"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    let fin = rows.iter().find(|r| r[0] == fin_acc).unwrap();
    assert_eq!(&fin[col("namespace")], "Global/Finance");
    assert_eq!(&fin[col("kind")], "unique");
    let root = rows.iter().find(|r| r[0] == root_acc).unwrap();
    assert_eq!(&root[col("expires_at")], "");
    assert!(fin[col("expires_at")].ends_with('Z'));

    let table = s
        .embedded(&[
            "accounts",
            "list",
            "--namespace",
            "Engineering/Platform",
            "--include-inherited",
        ])
        .ok()
        .stdout;
    let header = table.lines().next().unwrap();
    for column in [
        "ID",
        "USER ID",
        "KIND",
        "NAMESPACE",
        "DESCRIPTION",
        "CREATED",
        "EXPIRES",
        "LAST USED",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let line_of = |id: &str| {
        table
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap()
            .to_string()
    };
    let alice = line_of(&eng_acc);
    assert!(alice.contains("impersonated"), "{alice}");
    assert!(alice.contains("Global/Engineering (inherited)"), "{alice}");
    assert!(alice.contains("in 7d"), "{alice}");
    assert!(alice.ends_with("never"), "never used: {alice}");
    assert!(line_of(&root_acc).contains("  never  "), "never expires");
    assert!(line_of(&plat_acc).contains("in 90d"));
    assert!(!line_of(&plat_acc).contains("(inherited)"));
}

#[test]
fn remote_show_rotate_and_delete() {
    let server = Served::start();
    let secret = server.scratch.secret();
    let created = server
        .remote(&[
            "accounts",
            "create",
            "--user-id",
            "deploy-bot",
            "--expires",
            "7d",
        ])
        .ok();
    let first = verify(&secret, created.single_line());
    let id = created_id(&created.stderr);
    assert_eq!(first.jti, id);

    let table = server.remote(&["accounts", "show", &id]).ok().stdout;
    assert!(table.contains(&format!("ID:          {id}")), "{table}");
    assert!(table.contains("User ID:     deploy-bot"), "{table}");
    assert!(table.contains("Namespace:   Global"), "{table}");
    assert!(table.contains("Last used:   never"), "{table}");

    let rotated = server.remote(&["accounts", "rotate", &id]).ok();
    let second = verify(&secret, rotated.single_line());
    assert_eq!(second.jti, id);
    assert_eq!(second.sub, "deploy-bot");
    assert!(second.iat >= first.iat);
    assert!(!rotated.stderr.contains(rotated.single_line()));

    let deleted = server.remote(&["accounts", "delete", &id]).ok();
    assert!(deleted.stdout.is_empty());
    let gone = server.remote(&["accounts", "show", &id]);
    assert_eq!(gone.code, 1);
    assert!(gone.stdout.is_empty());
    assert!(
        gone.stderr.starts_with("error: not_found: "),
        "{}",
        gone.stderr
    );
    let rotate_gone = server.remote(&["accounts", "rotate", &id]);
    assert_eq!(rotate_gone.code, 1);
    assert!(
        rotate_gone.stdout.is_empty(),
        "no token for a deleted account"
    );
}

#[test]
fn directory_import_from_json_and_csv_and_a_bad_row_imports_nothing() {
    let s = Scratch::new();
    let json = s.write(
        "people.json",
        r#"[
            {"id": "u-ann", "name": "Ann Lee", "email": "ann@example.com", "groups": ["eng", "oncall"]},
            {"id": "u-bob", "name": "Bob Roy", "email": "bob@example.com", "groups": []}
        ]"#,
    );
    let out = s
        .embedded(&["directory", "import", json.to_str().unwrap()])
        .ok();
    assert_eq!(out.stdout, "imported 2 users (2 new, 0 updated)\n");

    // No extension: sniffed as CSV. Bob is updated, Cy is new.
    let csv = s.write(
        "people",
        "id,name,email,groups\nu-bob,Robert Roy,bob@example.com,finance;ops\nu-cy,Cy Dee,cy@example.com,\n",
    );
    let out = s
        .embedded(&["directory", "import", csv.to_str().unwrap()])
        .ok();
    assert_eq!(out.stdout, "imported 2 users (1 new, 1 updated)\n");

    let found = s
        .embedded(&["directory", "search", "u-bob", "-o", "json"])
        .ok()
        .json();
    assert_eq!(found[0]["name"], "Robert Roy");
    assert_eq!(found[0]["groups"], serde_json::json!(["finance", "ops"]));

    // Line 2 is fine and new; line 3 is bad, so line 2 must not be imported either.
    let bad = s.write(
        "bad.csv",
        "id,name,email,groups\nu-dan,Dan,dan@example.com,eng\nu-eve,Eve,not-an-email,eng\n",
    );
    let out = s.embedded(&["directory", "import", bad.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
    assert!(out.stderr.contains("email"), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was imported"),
        "{}",
        out.stderr
    );
    let dan = s
        .embedded(&["directory", "search", "u-dan", "-o", "json"])
        .ok()
        .json();
    assert_eq!(dan, serde_json::json!([]));

    let bad_json = s.write(
        "bad.json",
        r#"[{"id": "u-fay"}, {"id": "u-gus", "groups": "eng"}]"#,
    );
    let out = s.embedded(&["directory", "import", bad_json.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("entry 2 (index 1)"), "{}", out.stderr);
    let fay = s
        .embedded(&["directory", "search", "u-fay", "-o", "json"])
        .ok()
        .json();
    assert_eq!(fay, serde_json::json!([]));
}

#[test]
fn bootstrap_token_is_an_admin_credential_for_other_clients() {
    let server = Served::start();
    let data = server.scratch.data_dir();
    let out = server
        .scratch
        .run(&["--data-dir", data.to_str().unwrap(), "token", "bootstrap"])
        .ok();
    let token = out.single_line().to_string();
    assert!(out.stderr.contains("5 minutes"), "{}", out.stderr);
    let (_, claims) = sacon::token::decode_unverified(&token).unwrap();
    assert_eq!(claims["sub"], sacon::token::BOOTSTRAP_SUBJECT);

    let token_file = server.scratch.write("token", &format!("{token}\n"));
    let listed = server
        .scratch
        .run(&[
            "--api-url",
            &server.url,
            "--token-file",
            token_file.to_str().unwrap(),
            "namespaces",
            "list",
            "-o",
            "json",
        ])
        .ok();
    assert_eq!(listed.json()[0]["name"], "Global");

    // The same token from the environment.
    let from_env = server
        .scratch
        .command(&["--api-url", &server.url, "accounts", "list", "-o", "json"])
        .env("SACON_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        from_env.status.success(),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );

    // No credential at all: refused.
    let anonymous = server
        .scratch
        .run(&["--api-url", &server.url, "accounts", "list"]);
    assert_eq!(anonymous.code, 1);
    assert!(
        anonymous.stderr.starts_with("error: unauthenticated: "),
        "{}",
        anonymous.stderr
    );
}

#[test]
fn exit_codes_for_api_io_and_usage_errors() {
    let s = Scratch::new();
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let secret_file = s.write(
        "secret",
        &format!("{}\n", SharedSecret::generate().to_base64().as_str()),
    );
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let out = s.run(&[
        "--api-url",
        &dead,
        "--shared-secret-file",
        secret_file.to_str().unwrap(),
        "accounts",
        "list",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: unavailable: "),
        "{}",
        out.stderr
    );

    // A bad --expires is a usage error, caught before anything is created.
    let out = s.embedded(&[
        "accounts",
        "create",
        "--user-id",
        "x",
        "--expires",
        "someday",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("someday"), "{}", out.stderr);
    assert!(
        !s.data_dir().exists(),
        "nothing was created for a usage error"
    );
    let out = s.embedded(&[
        "accounts",
        "create",
        "--user-id",
        "x",
        "--expires",
        "2001-01-01",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not in the future"), "{}", out.stderr);
    assert_eq!(s.embedded(&["accounts", "list", "--output", "xml"]).code, 2);
    assert_eq!(s.embedded(&["accounts", "frobnicate"]).code, 2);
    assert!(!s.data_dir().exists());

    // An unknown namespace path is reported by name.
    let out = s.embedded(&["accounts", "list", "--namespace", "Global/Nowhere"]);
    assert_eq!(out.code, 1);
    assert!(
        out.error().starts_with("error: not_found: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Global/Nowhere"), "{}", out.stderr);

    // Server-side validation comes back as the Connect code.
    let long = "u".repeat(300);
    let out = s.embedded(&["accounts", "create", "--user-id", &long]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(
        out.error().starts_with("error: invalid_argument: "),
        "{}",
        out.stderr
    );
}

#[test]
fn a_new_data_directory_gets_the_demo_unless_told_not_to() {
    let s = Scratch::new();
    let dir = s.data_dir();
    let out = s
        .run(&[
            "--data-dir",
            dir.to_str().unwrap(),
            "namespaces",
            "list",
            "-o",
            "json",
        ])
        .ok();
    assert!(
        out.stderr.contains("with the demo directory"),
        "{}",
        out.stderr
    );
    assert!(
        out.json().as_array().unwrap().len() > 1,
        "demo namespaces are there"
    );
    let users = s
        .run(&[
            "--data-dir",
            dir.to_str().unwrap(),
            "directory",
            "search",
            "",
            "--limit",
            "5",
        ])
        .ok();
    assert!(users.stdout.lines().count() > 1, "{}", users.stdout);
    assert!(is_private(&dir));

    let empty = Scratch::new();
    let out = empty.embedded(&["namespaces", "list", "-o", "json"]).ok();
    assert!(out.stderr.contains("(empty)"), "{}", out.stderr);
    assert_eq!(out.json().as_array().unwrap().len(), 1, "only the root");
}

fn is_private(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).unwrap().permissions().mode() & 0o077 == 0
}

impl Scratch {
    /// Runs an embedded command with `input` on standard input.
    fn embedded_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let dir = self.data_dir();
        let mut all = vec!["--data-dir", dir.to_str().unwrap(), "--no-demo"];
        all.extend_from_slice(args);
        let mut child = self
            .command(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

#[test]
fn token_inspect_says_whose_token_it_is_and_why_it_fails() {
    let s = Scratch::new();
    let created = s
        .embedded(&[
            "accounts",
            "create",
            "--user-id",
            "billing-bot",
            "--description",
            "nightly",
        ])
        .ok();
    let jwt = created.single_line().to_string();
    let id = created_id(&created.stderr);

    let valid = s
        .embedded_with_stdin(&["token", "inspect"], &format!("{jwt}\n"))
        .ok();
    assert!(
        valid.stdout.contains(&format!("account     {id}")),
        "{}",
        valid.stdout
    );
    assert!(
        valid.stdout.contains("user id     billing-bot"),
        "{}",
        valid.stdout
    );
    assert!(
        valid.stdout.contains("verdict     valid"),
        "{}",
        valid.stdout
    );
    assert!(
        !valid.stdout.contains(&jwt) && !valid.stderr.contains(&jwt),
        "the token is never echoed"
    );
    // A pasted header form is accepted too.
    let json = s
        .embedded_with_stdin(
            &["token", "inspect", "-o", "json"],
            &format!("Bearer Pomerium-{jwt}"),
        )
        .ok()
        .json();
    assert_eq!(json["verdict"], "valid");
    assert_eq!(json["claims"]["sub"], "billing-bot");
    assert_eq!(json["account"]["description"], "nightly");

    // Rotation with grace keeps the old token valid; without, it is superseded (exit 3).
    let graced = s
        .embedded(&["accounts", "rotate", &id, "--grace", "10m"])
        .ok();
    assert!(
        graced.stderr.contains("older tokens keep working for 10m"),
        "{}",
        graced.stderr
    );
    assert_eq!(s.embedded_with_stdin(&["token", "inspect"], &jwt).code, 0);
    let newest = s
        .embedded(&["accounts", "rotate", &id])
        .ok()
        .single_line()
        .to_string();
    let superseded = s.embedded_with_stdin(&["token", "inspect"], &jwt);
    assert_eq!(superseded.code, 3, "{}", superseded.stderr);
    assert!(
        superseded.stdout.contains("verdict     superseded"),
        "{}",
        superseded.stdout
    );
    assert!(
        superseded.stderr.contains("would not verify"),
        "{}",
        superseded.stderr
    );

    // Deleted: who and when.
    s.embedded(&["accounts", "delete", &id]).ok();
    let deleted = s.embedded_with_stdin(&["token", "inspect"], &newest);
    assert_eq!(deleted.code, 3);
    assert!(
        deleted.stdout.contains("verdict     deleted"),
        "{}",
        deleted.stdout
    );
    // Forged with another secret, and not a token at all.
    let other = SharedSecret::generate();
    let forged = sacon::token::sign_service_account(&other, &id, "billing-bot", Utc::now(), None);
    let bad = s.embedded_with_stdin(&["token", "inspect"], &forged);
    assert!(
        bad.stdout.contains("verdict     bad_signature"),
        "{}",
        bad.stdout
    );
    let junk = s.embedded_with_stdin(&["token", "inspect"], "hello");
    assert_eq!(junk.code, 3);
    assert!(
        junk.stdout.contains("verdict     malformed"),
        "{}",
        junk.stdout
    );
    assert_eq!(s.embedded_with_stdin(&["token", "inspect"], "  \n").code, 2);
}

/// A directory of 50,000 users through `sacon directory import` with default settings against `sacon serve`: the
/// one call takes longer than the client's default 10 s timeout allowed before, so the import has its own, and
/// a file that large says what it is doing on stderr while stdout keeps only the result.
#[test]
fn a_large_directory_imports_with_default_settings() {
    const N: usize = 50_000;
    let server = Served::start();
    let mut csv = String::from("id,name,email,groups\n");
    for i in 0..N {
        csv.push_str(&format!(
            "u-{i:05},Person {i},person{i}@example.com,staff;team-{}\n",
            i % 40
        ));
    }
    let file = server.scratch.write("users.csv", &csv);
    let out = server
        .remote(&["directory", "import", file.to_str().unwrap()])
        .ok();
    assert_eq!(out.stdout, "imported 50000 users (50000 new, 0 updated)\n");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("read 50,000 users from ") && l.ends_with("users.csv")),
        "{}",
        out.stderr
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("the server imported 50,000 users in ")),
        "{}",
        out.stderr
    );

    let secret = server.scratch.secret();
    let client = sacon::api::Client::new(
        &server.url,
        sacon::api::Credentials::SharedSecret(secret),
        sacon::api::ClientOptions::default(),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_, total) = client.query_users("", 0, 1).await.unwrap();
        assert_eq!(total, N as u64);
        let last = client
            .get_user("u-49999")
            .await
            .unwrap()
            .expect("the last user");
        assert_eq!(last.name, "Person 49999");
        assert_eq!(last.groups, vec!["staff", "team-39"]);
        let (found, total) = client.query_users("team-7", 0, 5).await.unwrap();
        assert_eq!(total, (N / 40) as u64);
        assert!(
            found
                .iter()
                .all(|u| u.groups.contains(&"team-7".to_string()))
        );
    });

    // Again: every row is now an update.
    let out = server
        .remote(&["directory", "import", file.to_str().unwrap()])
        .ok();
    assert_eq!(out.stdout, "imported 50000 users (0 new, 50000 updated)\n");
}

#[test]
fn writes_record_who_made_them() {
    // The embedded console and local CLI act as the operating-system user; `sacon serve`'s shared secret as root.
    let s = Scratch::new();
    s.embedded(&["accounts", "create", "--user-id", "local-bot"])
        .ok();
    let listed = s
        .embedded(&["accounts", "list", "--output", "json"])
        .ok()
        .json();
    assert_eq!(listed[0]["originator_id"], "local:tester", "{listed}");
    s.embedded(&["namespaces", "create", "Payments"]).ok();
    let namespaces = s
        .embedded(&["namespaces", "list", "--output", "json"])
        .ok()
        .json();
    let payments = namespaces
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Payments")
        .unwrap_or_else(|| panic!("{namespaces}"));
    assert_eq!(payments["originator_id"], "local:tester", "{payments}");
    // The activity log names the actor of each change.
    let log = s
        .embedded(&["activity", "list", "--output", "json"])
        .ok()
        .json();
    let entries = log["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["actor"] == "local:tester"
            && e["action"] == "create"
            && e["entityType"] == "service_account"
            && e["name"] == "local-bot"),
        "{log}"
    );
    let in_payments = s
        .embedded(&[
            "activity",
            "list",
            "--namespace",
            "Global/Payments",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert!(
        in_payments["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["namespace"] == "Global/Payments")
    );
    let none = s
        .embedded(&["activity", "list", "--actor", "nobody", "--output", "json"])
        .ok()
        .json();
    assert_eq!(none["total"], 0);
    let csv = s
        .embedded(&["activity", "list", "--since", "1h", "--output", "csv"])
        .ok();
    assert!(
        csv.stdout
            .starts_with("WHEN,ACTOR,ACTION,KIND,NAME,NAMESPACE,ID\n"),
        "{}",
        csv.stdout
    );
    let me = s.embedded(&["whoami"]).ok();
    assert!(me.stdout.starts_with("local:tester on "), "{}", me.stdout);
    assert!(
        me.stdout.contains("Global") && me.stdout.contains("admin"),
        "{}",
        me.stdout
    );

    let served = Served::start();
    served
        .remote(&["accounts", "create", "--user-id", "remote-bot"])
        .ok();
    let listed = served
        .remote(&["accounts", "list", "--output", "json"])
        .ok()
        .json();
    assert_eq!(listed[0]["originator_id"], "root", "{listed}");
    let me = served.remote(&["whoami", "--output", "json"]).ok().json();
    assert_eq!(me["id"], "root");
    assert_eq!(me["roles"][0]["namespace"], "Global");
    assert_eq!(me["roles"][0]["role"], "admin");
}
