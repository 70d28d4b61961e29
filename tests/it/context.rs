//! Contexts of `$XDG_CONFIG_HOME/sacon/config.toml` through the built binary: a context naming a real
//! `sacon serve` (plain and over TLS with a private CA) is used by `--context`, `$SACON_CONTEXT` and
//! `current-context`; explicit flags win over its values; relative paths are taken from the config file's
//! directory; unknown names, bad TOML and unknown keys are refused with the file, line and the known names; and
//! `sacon context list|current` show them, sanitized in every format.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

    /// The one `error:` line on stderr.
    fn error(&self) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(lines.len(), 1, "one error line: {}", self.stderr);
        lines[0].to_string()
    }
}

/// A home directory, a config directory and a data directory, all temporary.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(s.config_dir()).unwrap();
        std::fs::create_dir_all(s.path("home")).unwrap();
        s
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `$XDG_CONFIG_HOME/sacon`, where config.toml and the files it names relatively live.
    fn config_dir(&self) -> PathBuf {
        self.path("xdg-config/sacon")
    }

    fn write_config(&self, text: &str) {
        std::fs::write(self.config_dir().join("config.toml"), text).unwrap();
    }

    /// A private copy of `from` in the config directory, as `name`.
    fn copy_private(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.config_dir().join(name);
        std::fs::copy(from, &to).unwrap();
        std::fs::set_permissions(&to, PermissionsExt::from_mode(0o600)).unwrap();
        to
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sacon"));
        cmd.args(args)
            .env_remove("SACON_TOKEN")
            .env_remove("SACON_CONTEXT")
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("NO_COLOR", "1")
            .env("USER", "tester")
            .stdin(Stdio::null());
        cmd
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }
}

/// `sacon serve --listen 127.0.0.1:0` on its own data directory; killed when dropped.
struct Served {
    scratch: Scratch,
    child: Child,
    url: String,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let scratch = Scratch::new();
        let data = scratch.path("server-data");
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let mut child = scratch
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (url, _rest) = crate::support::serve::listening_url(&mut child);
        Served {
            scratch,
            child,
            url,
        }
    }

    fn secret_path(&self) -> PathBuf {
        sacon::config::secret_path(&self.scratch.path("server-data"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server `whoami` says it talked to: the API URL, or the embedded data directory.
fn server_of(out: Output) -> String {
    out.ok().json()["server"].as_str().unwrap().to_string()
}

#[test]
fn a_context_reaches_the_server_by_flag_environment_and_current_context() {
    let served = Served::start(&[]);
    let s = &served.scratch;
    // Relative to the config file's directory.
    s.copy_private(&served.secret_path(), "prod.secret");
    s.write_config(&format!(
        "[contexts.prod]\napi-url = \"{}\"\nshared-secret-file = \"prod.secret\"\nnamespace = \"Global/Engineering\"\n",
        served.url
    ));
    assert_eq!(
        server_of(s.run(&["--context", "prod", "whoami", "-o", "json"])),
        served.url
    );
    s.run(&["--context", "prod", "namespaces", "create", "Engineering"])
        .ok();
    // The context's namespace is where `accounts create` puts an account; the server has it.
    let created = s
        .run(&["--context", "prod", "accounts", "create", "--user-id", "ci"])
        .ok();
    assert!(
        created.stderr.contains("namespace Global/Engineering"),
        "{}",
        created.stderr
    );
    let listed = s
        .run(&[
            "--api-url",
            &served.url,
            "--shared-secret-file",
            served.secret_path().to_str().unwrap(),
            "accounts",
            "list",
            "--namespace",
            "Global/Engineering",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(listed[0]["user_id"], "ci", "{listed}");

    let env = [("SACON_CONTEXT", "prod")];
    assert_eq!(
        server_of(s.run_with(&["whoami", "-o", "json"], &env)),
        served.url
    );
    // Without a current-context, no flag means the embedded console.
    let embedded = server_of(s.run(&["--no-demo", "whoami", "-o", "json"]));
    assert_eq!(embedded, "~/.local/share/sacon");

    s.write_config(&format!(
        "current-context = \"prod\"\n[contexts.prod]\napi-url = \"{}\"\nshared-secret-file = \"prod.secret\"\n",
        served.url
    ));
    assert_eq!(server_of(s.run(&["whoami", "-o", "json"])), served.url);
    assert_eq!(s.run(&["context", "current"]).ok().stdout, "prod\n");
    // --context and $SACON_CONTEXT still pick another one.
    assert_eq!(
        server_of(s.run(&["--context", "embedded", "--no-demo", "whoami", "-o", "json"])),
        embedded
    );
    assert_eq!(
        s.run_with(&["context", "current"], &[("SACON_CONTEXT", "embedded")])
            .ok()
            .stdout,
        "embedded\n"
    );
}

#[test]
fn explicit_flags_override_the_contexts_values() {
    let served = Served::start(&[]);
    let s = &served.scratch;
    let secret = served.secret_path();
    let secret = secret.to_str().unwrap();
    // A port nothing listens on, a token file and a CA file that do not exist.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    s.write_config(&format!(
        "[contexts.prod]\napi-url = \"http://127.0.0.1:{closed}\"\ntoken-file = \"missing.token\"\n\
         ca-file = \"missing-ca.pem\"\n"
    ));
    let missing_token = s.config_dir().join("missing.token");
    let err = s.run(&["--context", "prod", "whoami"]);
    assert_eq!(err.code, 1);
    let line = err.error();
    assert!(
        line.contains(&format!(
            "cannot read token file {}",
            missing_token.display()
        )),
        "the token file is read from the config's directory: {line}"
    );
    assert!(line.contains("context \"prod\""), "{line}");

    // --shared-secret-file replaces the context's token; the CA file still comes from the context.
    let err = s.run(&[
        "--context",
        "prod",
        "--api-url",
        &served.url,
        "--shared-secret-file",
        secret,
        "whoami",
    ]);
    assert_eq!(err.code, 1);
    let missing_ca = s.config_dir().join("missing-ca.pem");
    assert!(
        err.error()
            .contains(&format!("cannot read CA file {}", missing_ca.display())),
        "{}",
        err.stderr
    );

    let ca = s.path("ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let all = [
        "--context",
        "prod",
        "--api-url",
        &served.url,
        "--shared-secret-file",
        secret,
        "--ca-file",
        ca.to_str().unwrap(),
        "whoami",
        "-o",
        "json",
    ];
    assert_eq!(server_of(s.run(&all)), served.url);
    // $SACON_TOKEN is as explicit as --token-file: the context's missing token file is not read.
    let token = s
        .run(&["token", "bootstrap", "--shared-secret-file", secret])
        .ok();
    let env = [("SACON_TOKEN", token.stdout.trim())];
    let out = s.run_with(
        &[
            "--context",
            "prod",
            "--api-url",
            &served.url,
            "--ca-file",
            ca.to_str().unwrap(),
            "whoami",
            "-o",
            "json",
        ],
        &env,
    );
    assert_eq!(server_of(out), served.url);
}

#[test]
fn a_contexts_private_ca_reaches_a_tls_server() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let tmp = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (cert_path, key_path) = (tmp.path().join("server.pem"), tmp.path().join("server.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_path, PermissionsExt::from_mode(0o600)).unwrap();
    let served = Served::start(&[
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ]);
    assert!(served.url.starts_with("https://"), "{}", served.url);
    let s = &served.scratch;
    std::fs::write(s.config_dir().join("ca.pem"), ca.pem()).unwrap();
    s.copy_private(&served.secret_path(), "secret");
    s.write_config(&format!(
        "current-context = \"tls\"\n[contexts.tls]\napi-url = \"{}\"\nca-file = \"ca.pem\"\n\
         shared-secret-file = \"secret\"\n",
        served.url
    ));
    assert_eq!(server_of(s.run(&["whoami", "-o", "json"])), served.url);
    // Another CA given as a flag wins, and that CA does not vouch for the server.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let other_path = s.path("other-ca.pem");
    std::fs::write(&other_path, other.cert.pem()).unwrap();
    let refused = s.run(&["--ca-file", other_path.to_str().unwrap(), "whoami"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.error().starts_with("error: unavailable"),
        "{}",
        refused.stderr
    );
}

#[test]
fn an_unknown_context_is_a_usage_error_listing_the_known_ones() {
    let s = Scratch::new();
    s.write_config(
        "[contexts.prod]\napi-url = \"https://sacon.example.com\"\n[contexts.staging]\napi-url = \"https://s.example.com\"\n",
    );
    let out = s.run(&["--context", "prdo", "accounts", "list"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let file = s.config_dir().join("config.toml");
    assert_eq!(
        out.error(),
        format!(
            "error: no context named \"prdo\" in {}; the contexts are: embedded, prod, staging",
            file.display()
        )
    );
    let out = s.run_with(&["context", "list"], &[("SACON_CONTEXT", "nope")]);
    assert_eq!(out.code, 2);
    // A current-context naming nothing is refused too, and says where it comes from.
    s.write_config("current-context = \"gone\"\n");
    let out = s.run(&["context", "current"]);
    assert_eq!(out.code, 2);
    assert!(
        out.error().contains("current-context \"gone\""),
        "{}",
        out.stderr
    );
    // Without a config file, only embedded exists.
    std::fs::remove_file(&file).unwrap();
    let out = s.run(&["--context", "prod", "whoami"]);
    assert_eq!(out.code, 2);
    assert!(
        out.error()
            .ends_with("does not exist, so the only context is embedded"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_toml_and_unknown_keys_are_refused_with_file_and_line() {
    let s = Scratch::new();
    let file = s.config_dir().join("config.toml");
    s.write_config("[contexts.prod]\napi-url = \"https://x.example\nread-only = true\n");
    let out = s.run(&["accounts", "list"]);
    assert_eq!(out.code, 1);
    assert!(
        out.error()
            .starts_with(&format!("error: {}:2:", file.display())),
        "{}",
        out.stderr
    );
    assert!(
        !s.path("home/.local/share/sacon").exists(),
        "nothing runs on a broken config"
    );

    s.write_config("[contexts.prod]\napi-url = \"https://x.example\"\nread_only = true\n");
    let out = s.run(&["context", "list"]);
    assert_eq!(out.code, 1);
    let line = out.error();
    assert!(
        line.starts_with(&format!(
            "error: {}:3:1: unknown field `read_only`",
            file.display()
        )),
        "{line}"
    );
    assert!(
        line.contains("`read-only`"),
        "the known keys are named: {line}"
    );

    s.write_config("[contexts.prod]\napi-url = \"https://x.example\"\ntoken-file = \"t\"\nshared-secret-file = \"s\"\n");
    let line = s.run(&["context", "list"]).error();
    assert!(
        line.contains("context \"prod\": token-file and shared-secret-file are both set"),
        "{line}"
    );
}

#[test]
fn context_list_marks_the_current_one_resolves_paths_and_sanitizes() {
    let s = Scratch::new();
    let out = s.run(&["context", "list"]).ok();
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    assert!(
        out.stdout.lines().nth(1).unwrap().starts_with("*  "),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("no config file at"), "{}", out.stderr);

    s.write_config(
        "current-context = \"prod\"\n\
         [contexts.prod]\napi-url = \"https://sacon.example.com\"\ntoken-file = \"~/.config/sacon/prod.token\"\n\
         ca-file = \"certs/ca.pem\"\nread-only = true\nnamespace = \"Eng\\u001b[2J\\u202eering\"\n\
         [contexts.lab]\napi-url = \"http://127.0.0.1:8080\"\nshared-secret-file = \"/srv/lab/secret\"\n",
    );
    let table = s.run(&["context", "list"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "CURRENT  NAME      SERVER                           AUTH                READ-ONLY  NAMESPACE"
    );
    assert!(
        lines[1].starts_with("         embedded  embedded (~/.local/share/sacon)"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("         lab       http://127.0.0.1:8080"),
        "{table}"
    );
    assert_eq!(
        lines[3],
        "*        prod      https://sacon.example.com        token-file          yes        Eng[2Jering"
    );
    assert!(!table.contains('\u{1b}') && !table.contains('\u{202e}'));

    let json_text = s.run(&["context", "list", "-o", "json"]).ok().stdout;
    assert!(!json_text.contains('\u{1b}') && !json_text.contains('\u{202e}'));
    let v: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(v["current"], "prod");
    assert_eq!(v["config_found"], true);
    let prod = &v["contexts"][2];
    assert_eq!(prod["name"], "prod");
    assert_eq!(prod["current"], true);
    assert_eq!(prod["read_only"], true);
    assert_eq!(prod["auth"], "token-file");
    assert_eq!(
        prod["namespace"], "Eng\u{1b}[2J\u{202e}ering",
        "JSON keeps the exact value"
    );
    assert_eq!(
        prod["token_file"],
        s.path("home/.config/sacon/prod.token").to_str().unwrap()
    );
    assert_eq!(
        prod["ca_file"],
        s.config_dir().join("certs/ca.pem").to_str().unwrap()
    );
    let lab = &v["contexts"][1];
    assert_eq!(lab["current"], false);
    assert_eq!(lab["shared_secret_file"], "/srv/lab/secret");
    assert_eq!(v["contexts"][0]["embedded"], true);
    assert_eq!(v["contexts"][0]["api_url"], Value::Null);

    let picked = s
        .run(&["--context", "lab", "context", "list", "-o", "json"])
        .ok()
        .json();
    assert_eq!(picked["current"], "lab");
    assert_eq!(picked["contexts"][1]["current"], true);
    assert_eq!(picked["contexts"][2]["current"], false);
}
