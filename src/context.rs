//! Named contexts from `$XDG_CONFIG_HOME/sacon/config.toml` (else `~/.config/sacon/config.toml`): where a front
//! end connects (API URL, token or shared-secret file, CA file, or the embedded data directory), whether it is
//! read-only, and its default namespace. The implicit `embedded` context always exists; a missing file means it
//! is the only one; unknown keys, bad values and syntax errors are refused with the file (and line and column).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::embedded::ConnectOptions;
use crate::model::is_unsafe_char;

/// The name of the built-in context: the embedded console on the local data directory.
pub const EMBEDDED: &str = "embedded";

/// The config file's location: `$XDG_CONFIG_HOME/sacon/config.toml` when that variable holds an absolute path
/// (as the XDG spec asks), else `~/.config/sacon/config.toml`; `None` without a home directory.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| dirs::home_dir().map(|h| h.join(".config")))
        .map(|dir| dir.join("sacon").join("config.toml"))
}

/// An API URL as sacon accepts one: `http://` or `https://`, trimmed.
pub fn check_api_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(text.trim().to_string()),
        other => Err(format!("the scheme is {other:?}; use http:// or https://")),
    }
}

/// How a remote context authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credential of its own (an embedded context uses its data directory's secret).
    None,
    /// An admin token, sent as `Authorization: Pomerium <token>`; read as `--token-file` is.
    TokenFile(PathBuf),
    /// The server's shared secret, to sign admin credentials with; checked as `--shared-secret-file` is.
    SharedSecretFile(PathBuf),
}

/// One context, its paths already absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub name: String,
    /// `None`: the embedded console (on `data_dir`, or the default data directory).
    pub api_url: Option<String>,
    pub credential: Credential,
    pub ca_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    /// Writes are refused (OR-ed with `--read-only`).
    pub read_only: bool,
    /// Where the console opens and `accounts create` puts accounts: a name path or an id.
    pub namespace: Option<String>,
}

impl Context {
    fn embedded() -> Context {
        Context {
            name: EMBEDDED.into(),
            api_url: None,
            credential: Credential::None,
            ca_file: None,
            data_dir: None,
            read_only: false,
            namespace: None,
        }
    }

    pub fn is_embedded(&self) -> bool {
        self.api_url.is_none()
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The default namespace (a name path such as `Global/Engineering`, or an id).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// How it authenticates, in a word for listings.
    pub fn auth_kind(&self) -> &'static str {
        match (&self.credential, self.is_embedded()) {
            (_, true) => "data-dir",
            (Credential::TokenFile(_), false) => "token-file",
            (Credential::SharedSecretFile(_), false) => "shared-secret-file",
            (Credential::None, false) => "none",
        }
    }

    /// The connection this context makes, with explicitly given `flags` winning over its values. A credential
    /// given explicitly (`--token-file`, `$SACON_TOKEN`, `--shared-secret-file`) replaces the context's own
    /// credential as a whole, so a context's token file never shadows a shared-secret flag.
    pub fn connect_options(&self, flags: &ConnectOptions) -> ConnectOptions {
        let explicit_credential = flags.token_file.is_some()
            || flags.token.is_some()
            || flags.shared_secret_file.is_some();
        let (token_file, shared_secret_file) = if explicit_credential {
            (flags.token_file.clone(), flags.shared_secret_file.clone())
        } else {
            match &self.credential {
                Credential::None => (None, None),
                Credential::TokenFile(p) => (Some(p.clone()), None),
                Credential::SharedSecretFile(p) => (None, Some(p.clone())),
            }
        };
        ConnectOptions {
            api_url: flags.api_url.clone().or_else(|| self.api_url.clone()),
            token_file,
            token: flags.token.clone(),
            shared_secret_file,
            data_dir: flags.data_dir.clone().or_else(|| self.data_dir.clone()),
            ca_file: flags.ca_file.clone().or_else(|| self.ca_file.clone()),
            no_demo: flags.no_demo,
            timeout: flags.timeout,
        }
    }
}

/// Why the contexts could not be loaded or one could not be chosen.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Bad TOML, an unknown key or a value of the wrong type.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A context whose values do not go together.
    #[error("{}: context \"{name}\": {message}", path.display())]
    Invalid {
        path: PathBuf,
        name: String,
        message: String,
    },
    /// A name (from `--context`, `$SACON_CONTEXT` or `current-context`) that no context has.
    #[error("{}", unknown_message(name, known, path.as_deref(), *found, *from_file))]
    Unknown {
        name: String,
        known: Vec<String>,
        path: Option<PathBuf>,
        /// Whether the config file exists.
        found: bool,
        /// Whether the name came from the file's `current-context`.
        from_file: bool,
    },
}

fn unknown_message(
    name: &str,
    known: &[String],
    path: Option<&Path>,
    found: bool,
    from_file: bool,
) -> String {
    let file = path.map_or_else(|| "the config file".into(), |p| p.display().to_string());
    let known = known.join(", ");
    match (from_file, found) {
        (true, _) => format!(
            "current-context \"{name}\" in {file} names no context; the contexts are: {known}"
        ),
        (false, true) => {
            format!("no context named \"{name}\" in {file}; the contexts are: {known}")
        }
        (false, false) => format!(
            "no context named \"{name}\": {file} does not exist, so the only context is {known}"
        ),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    current_context: Option<String>,
    #[serde(default)]
    contexts: BTreeMap<String, FileContext>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileContext {
    api_url: Option<String>,
    token_file: Option<String>,
    shared_secret_file: Option<String>,
    ca_file: Option<String>,
    data_dir: Option<String>,
    #[serde(default)]
    read_only: bool,
    namespace: Option<String>,
}

/// Every context: `embedded` first, then the file's in name order.
#[derive(Debug, Clone)]
pub struct Contexts {
    path: Option<PathBuf>,
    found: bool,
    current: Option<String>,
    contexts: Vec<Context>,
    /// Whether the file has a `[contexts.embedded]` table refining the built-in one.
    embedded_in_file: bool,
}

impl Contexts {
    /// The contexts of the config file at [`default_path`]; only `embedded` when there is none.
    pub fn load() -> Result<Contexts, ContextError> {
        match default_path() {
            Some(path) => Self::load_from(&path),
            None => Ok(Contexts {
                path: None,
                found: false,
                current: None,
                contexts: vec![Context::embedded()],
                embedded_in_file: false,
            }),
        }
    }

    /// The contexts of the config file at `path`; only `embedded` when it does not exist.
    pub fn load_from(path: &Path) -> Result<Contexts, ContextError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path, dirs::home_dir().as_deref()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contexts {
                path: Some(path.to_path_buf()),
                found: false,
                current: None,
                contexts: vec![Context::embedded()],
                embedded_in_file: false,
            }),
            Err(source) => Err(ContextError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses the text of the config file at `path`: relative paths in it are taken from `path`'s directory,
    /// `~` from `home`.
    pub fn parse(text: &str, path: &Path, home: Option<&Path>) -> Result<Contexts, ContextError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ContextError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                // Multi-line explanations ("expected ...") become one line, as errors are printed.
                message: e.message().trim().replace('\n', "; "),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut contexts = vec![Context::embedded()];
        let mut embedded_in_file = false;
        for (name, raw) in file.contexts {
            let invalid = |message: String| ContextError::Invalid {
                path: path.to_path_buf(),
                name: name.clone(),
                message,
            };
            let context = build(&name, raw, base, home).map_err(invalid)?;
            if name == EMBEDDED {
                contexts[0] = context;
                embedded_in_file = true;
            } else {
                contexts.push(context);
            }
        }
        Ok(Contexts {
            path: Some(path.to_path_buf()),
            found: true,
            current: file.current_context,
            contexts,
            embedded_in_file,
        })
    }

    /// The config file these came from (whether or not it exists).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether the config file exists.
    pub fn found(&self) -> bool {
        self.found
    }

    /// The names, `embedded` first.
    pub fn names(&self) -> Vec<&str> {
        self.contexts.iter().map(|c| c.name.as_str()).collect()
    }

    /// Whether the config file defines the context `name` (the built-in `embedded` only when refined there).
    pub fn defines(&self, name: &str) -> bool {
        if name == EMBEDDED {
            self.embedded_in_file
        } else {
            self.get(name).is_some()
        }
    }

    pub fn get(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|c| c.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Context> {
        self.contexts.iter()
    }

    /// The file's `current-context`, as written.
    pub fn current_context(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The context in force: `explicit` (from `--context` or `$SACON_CONTEXT`), else the file's
    /// `current-context`, else `embedded`. A name that no context has is an error listing the known ones.
    pub fn select(&self, explicit: Option<&str>) -> Result<&Context, ContextError> {
        let (name, from_file) = match (explicit, self.current.as_deref()) {
            (Some(name), _) => (name, false),
            (None, Some(name)) => (name, true),
            (None, None) => (EMBEDDED, false),
        };
        self.get(name).ok_or_else(|| ContextError::Unknown {
            name: name.to_string(),
            known: self.names().into_iter().map(String::from).collect(),
            path: self.path.clone(),
            found: self.found,
            from_file,
        })
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn build(
    name: &str,
    raw: FileContext,
    base: &Path,
    home: Option<&Path>,
) -> Result<Context, String> {
    if name.is_empty() || name.chars().any(is_unsafe_char) {
        return Err("a context name must be non-empty, without control characters".into());
    }
    let path = |key: &str, value: Option<String>| -> Result<Option<PathBuf>, String> {
        value
            .map(|v| resolve_path(&v, base, home).map_err(|e| format!("{key} {v:?}: {e}")))
            .transpose()
    };
    let api_url = raw
        .api_url
        .map(|u| check_api_url(&u).map_err(|e| format!("api-url {u:?}: {e}")))
        .transpose()?;
    let token_file = path("token-file", raw.token_file)?;
    let shared_secret_file = path("shared-secret-file", raw.shared_secret_file)?;
    let ca_file = path("ca-file", raw.ca_file)?;
    let data_dir = path("data-dir", raw.data_dir)?;
    if name == EMBEDDED && api_url.is_some() {
        return Err(
            "\"embedded\" is the local data directory and takes no api-url; give the server's context \
             another name"
                .into(),
        );
    }
    if api_url.is_none() {
        let remote_only = [
            ("token-file", token_file.is_some()),
            ("shared-secret-file", shared_secret_file.is_some()),
            ("ca-file", ca_file.is_some()),
        ];
        if let Some((key, _)) = remote_only.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{key} is only used with api-url (a context without api-url is the embedded console)"
            ));
        }
    }
    let credential = match (token_file, shared_secret_file) {
        (Some(_), Some(_)) => {
            return Err("token-file and shared-secret-file are both set; keep one".into());
        }
        (Some(t), None) => Credential::TokenFile(t),
        (None, Some(s)) => Credential::SharedSecretFile(s),
        (None, None) => Credential::None,
    };
    let namespace = match raw.namespace {
        Some(ns) if ns.trim().is_empty() => {
            return Err("namespace is empty; leave it out for the root namespace".into());
        }
        other => other,
    };
    Ok(Context {
        name: name.to_string(),
        api_url,
        credential,
        ca_file,
        data_dir,
        read_only: raw.read_only,
        namespace,
    })
}

/// `~` and `~/…` from `home`; a relative path from `base` (the config file's directory).
fn resolve_path(raw: &str, base: &Path, home: Option<&Path>) -> Result<PathBuf, String> {
    if raw.is_empty() {
        return Err("is empty".into());
    }
    let tilde = raw == "~" || raw.starts_with("~/");
    if tilde {
        let home = home.ok_or("there is no home directory to expand ~ with")?;
        let rest = raw.trim_start_matches('~').trim_start_matches('/');
        return Ok(if rest.is_empty() {
            home.to_path_buf()
        } else {
            home.join(rest)
        });
    }
    if raw.starts_with('~') {
        return Err("~user is not expanded; write the full path".into());
    }
    let p = Path::new(raw);
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/etc/conf/sacon/config.toml";

    fn parse(text: &str) -> Result<Contexts, ContextError> {
        Contexts::parse(text, Path::new(FILE), Some(Path::new("/home/ann")))
    }

    #[test]
    fn the_documented_example_parses_with_paths_resolved() {
        let c = parse(
            r#"
current-context = "prod"
[contexts.prod]
api-url = "https://sacon.example.com"
token-file = "~/.config/sacon/prod.token"
ca-file = "/etc/ssl/private-ca.pem"
read-only = true
namespace = "Engineering"

[contexts.staging]
api-url = "http://127.0.0.1:8080"
shared-secret-file = "secrets/staging"
"#,
        )
        .unwrap();
        assert_eq!(c.names(), ["embedded", "prod", "staging"]);
        assert_eq!(c.current_context(), Some("prod"));
        let prod = c.select(None).unwrap();
        assert_eq!(prod.name, "prod");
        assert_eq!(
            prod.credential,
            Credential::TokenFile("/home/ann/.config/sacon/prod.token".into())
        );
        assert_eq!(prod.ca_file, Some("/etc/ssl/private-ca.pem".into()));
        assert!(prod.read_only());
        assert_eq!(prod.namespace(), Some("Engineering"));
        assert_eq!(prod.auth_kind(), "token-file");
        let staging = c.get("staging").unwrap();
        assert_eq!(
            staging.credential,
            Credential::SharedSecretFile("/etc/conf/sacon/secrets/staging".into())
        );
        assert!(!staging.read_only());
        assert!(c.get("embedded").unwrap().is_embedded());
    }

    #[test]
    fn an_empty_file_has_only_embedded_and_selects_it() {
        let c = parse("").unwrap();
        assert_eq!(c.names(), ["embedded"]);
        assert_eq!(c.select(None).unwrap().name, "embedded");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let e = parse("[contexts.prod]\napi-url = \"http://x\"\ntokn-file = \"t\"\n").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with(&format!("{FILE}:3:1: ")), "{text}");
        assert!(text.contains("tokn-file"), "{text}");
        let e = parse("current_context = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("current_context"), "{e}");
    }

    #[test]
    fn syntax_errors_give_line_and_column_on_one_line() {
        let e = parse("[contexts.prod]\napi-url = \"http://x\n").unwrap_err();
        let ContextError::Syntax { line, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*line, 2);
        assert!(!e.to_string().contains('\n'), "{e}");
        let e = parse("[contexts.a]\nread-only = \"yes\"\n").unwrap_err();
        assert!(e.to_string().starts_with(&format!("{FILE}:2:")), "{e}");
    }

    #[test]
    fn contradictions_are_refused_naming_the_context() {
        let cases = [
            (
                "[contexts.p]\napi-url = \"http://x\"\ntoken-file = \"a\"\nshared-secret-file = \"b\"\n",
                "both set",
            ),
            (
                "[contexts.p]\ntoken-file = \"a\"\n",
                "only used with api-url",
            ),
            (
                "[contexts.embedded]\napi-url = \"http://x\"\n",
                "takes no api-url",
            ),
            (
                "[contexts.p]\napi-url = \"ftp://x\"\n",
                "use http:// or https://",
            ),
            (
                "[contexts.p]\napi-url = \"http://x\"\nca-file = \"~bob/ca\"\n",
                "~user",
            ),
            ("[contexts.p]\nnamespace = \"\"\n", "namespace is empty"),
            ("[contexts.\"a\\u001b[2J\"]\n", "control characters"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{FILE}: context \"")), "{e}");
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn embedded_can_be_refined_but_stays_first_and_embedded() {
        let c = parse("[contexts.embedded]\nread-only = true\ndata-dir = \"data\"\n").unwrap();
        assert_eq!(c.names(), ["embedded"]);
        let e = c.get("embedded").unwrap();
        assert!(e.is_embedded() && e.read_only());
        assert_eq!(e.data_dir, Some("/etc/conf/sacon/data".into()));
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let c =
            parse("current-context = \"gone\"\n[contexts.prod]\napi-url = \"http://x\"\n").unwrap();
        let e = c.select(Some("stagin")).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("no context named \"stagin\" in {FILE}; the contexts are: embedded, prod")
        );
        let e = c.select(None).unwrap_err().to_string();
        assert!(e.starts_with("current-context \"gone\""), "{e}");
        assert_eq!(c.select(Some("prod")).unwrap().name, "prod");
    }

    #[test]
    fn flags_win_and_an_explicit_credential_replaces_the_contexts() {
        let c = parse(
            "[contexts.p]\napi-url = \"http://ctx\"\ntoken-file = \"/t\"\nca-file = \"/ca\"\ndata-dir = \"/d\"\n",
        )
        .unwrap();
        let p = c.get("p").unwrap();
        let plain = p.connect_options(&ConnectOptions::default());
        assert_eq!(plain.api_url.as_deref(), Some("http://ctx"));
        assert_eq!(plain.token_file, Some("/t".into()));
        assert_eq!(plain.ca_file, Some("/ca".into()));
        assert_eq!(plain.data_dir, Some("/d".into()));
        let flags = ConnectOptions {
            api_url: Some("http://flag".into()),
            shared_secret_file: Some("/s".into()),
            ca_file: Some("/ca2".into()),
            ..ConnectOptions::default()
        };
        let o = p.connect_options(&flags);
        assert_eq!(o.api_url.as_deref(), Some("http://flag"));
        assert_eq!(
            o.token_file, None,
            "the context's token must not shadow the flag"
        );
        assert_eq!(o.shared_secret_file, Some("/s".into()));
        assert_eq!(o.ca_file, Some("/ca2".into()));
        let env = ConnectOptions {
            token: Some("from-env".into()),
            ..ConnectOptions::default()
        };
        assert_eq!(p.connect_options(&env).token_file, None);
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(line_column("ab\ncdé f", 8), (2, 5));
        assert_eq!(line_column("x", 0), (1, 1));
        assert_eq!(line_column("x", 99), (1, 2));
    }
}
