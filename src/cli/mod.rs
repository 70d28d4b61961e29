//! The command line: clap definitions of every command and global flag, dispatch to the command modules, and
//! the exit-code contract (0 success, 1 API or I/O error printed as `error: <code>: <message>`, 2 usage error).

mod access;
mod account_rows;
mod accounts;
mod activity;
mod context;
mod directory;
pub mod import;
mod migrate;
mod namespaces;
pub mod output;
mod permissions;
mod policies;
mod report;
mod report_access;
mod routes;
mod serve;
mod token;
mod whoami;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::api::{Code, ConnectError};
use crate::context::{Context, ContextError, Contexts};
use crate::embedded::{self, ConnectOptions, Connection};
use crate::model::{Expiry, NamespaceTree, sanitize};

/// Runs `sacon` with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    // clap prints its own usage errors and exits with 2.
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "sacon",
    version,
    about = "Service accounts for Pomerium-style APIs: a terminal console, a scripting CLI and an API server",
    long_about = "Service accounts for Pomerium-style APIs.\n\n\
        With no command, sacon opens the terminal console. Without --api-url, every command works on the \
        embedded console in the data directory (created, with a demo directory, on first use); with --api-url \
        it talks to a `sacon serve` or a Pomerium server, authenticating with --token-file, $SACON_TOKEN or \
        --shared-secret-file. --context NAME takes those settings from a context of \
        $XDG_CONFIG_HOME/sacon/config.toml (see `sacon context list`); flags given explicitly win over it."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes, before or after the command name.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Connect as this context of $XDG_CONFIG_HOME/sacon/config.toml says [default: its current-context, else
    /// embedded]; the flags below override its values. Not used by `serve`.
    #[arg(
        long,
        global = true,
        env = "SACON_CONTEXT",
        help_heading = "Global options",
        value_name = "NAME"
    )]
    pub context: Option<String>,
    /// API server to talk to (http:// or https://); without it, the embedded console in --data-dir.
    #[arg(long, global = true, help_heading = "Global options", value_name = "URL", value_parser = parse_api_url)]
    pub api_url: Option<String>,
    /// File holding an admin token, sent as `Authorization: Pomerium <token>` (or set $SACON_TOKEN).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub token_file: Option<PathBuf>,
    /// File holding the server's shared secret (base64 of 32 bytes), to sign admin credentials with; for `serve`, the
    /// secret it checks them with and signs tokens with (instead of the data directory's), one for all replicas.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub shared_secret_file: Option<PathBuf>,
    /// Data directory of the embedded console and of `serve` [default: $XDG_DATA_HOME/sacon].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "DIR"
    )]
    pub data_dir: Option<PathBuf>,
    /// PEM file of a private CA to trust for --api-url.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub ca_file: Option<PathBuf>,
    /// Create a new data directory empty, without the demo namespaces and users.
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_demo: bool,
    /// How long one API call may take.
    #[arg(long, global = true, help_heading = "Global options", value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// A read-only session, for audits: the console offers no change, and commands that would change something
    /// are refused (client-side only; the server is not asked).
    #[arg(long, global = true, help_heading = "Global options")]
    pub read_only: bool,
}

impl GlobalArgs {
    /// `--context` or `$SACON_CONTEXT`; empty counts as not given.
    pub fn context_name(&self) -> Option<&str> {
        self.context.as_deref().filter(|n| !n.is_empty())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server.
    Serve(serve::ServeArgs),
    /// Copy a SQLite data directory into an empty PostgreSQL database, for replicas.
    Migrate(migrate::MigrateArgs),
    /// List and change the namespace tree.
    #[command(subcommand)]
    Namespaces(namespaces::NamespacesCommand),
    /// List, create, show, rotate and delete service accounts.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Import and search directory users.
    #[command(subcommand)]
    Directory(directory::DirectoryCommand),
    /// Admin tokens for other Connect clients.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The activity log: who changed what, and when.
    #[command(subcommand)]
    Activity(activity::ActivityCommand),
    /// The credential report: every account with its marks; --check exits 3 when any needs attention.
    Report(report::ReportArgs),
    /// Namespace roles: who may read (viewer), manage accounts (manager) or administer (admin) where.
    #[command(subcommand)]
    Permissions(permissions::PermissionsCommand),
    /// Routes: which host and path prefix a policy guards, as /verify judges a target.
    #[command(subcommand)]
    Routes(routes::RoutesCommand),
    /// Access policies: the users, e-mail domains and PPL that let a token through a route.
    #[command(subcommand)]
    Policies(policies::PoliciesCommand),
    /// What /verify would answer for a token at a URL, and why.
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// The named contexts of $XDG_CONFIG_HOME/sacon/config.toml.
    #[command(subcommand)]
    Context(context::ContextCommand),
    /// Who the server takes this credential for, and the roles it holds.
    Whoami {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = output::Format::Table)]
        output: output::Format,
    },
}

/// Why a command failed, and so which exit code it ends with.
#[derive(Debug)]
pub enum CliError {
    /// A bad flag value or combination: exit 2.
    Usage(String),
    /// The server (or the client talking to it) reported a Connect error: exit 1.
    Api(ConnectError),
    /// A file, terminal or runtime problem: exit 1.
    Io(String),
    /// The command worked and its answer is "no" (`token inspect` of a token that would not verify, `access check`
    /// of a refused one): exit 3.
    Refused(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Api(_) | CliError::Io(_) => 1,
            CliError::Refused(_) => 3,
        }
    }

    /// The one stderr line; server messages are untrusted, so everything is sanitized.
    pub fn render(&self) -> String {
        match self {
            CliError::Usage(m) | CliError::Io(m) => format!("error: {}", sanitize(m)),
            CliError::Refused(m) => sanitize(m),
            CliError::Api(e) => format!("error: {}: {}", e.code, sanitize(&e.message)),
        }
    }
}

impl From<ConnectError> for CliError {
    fn from(e: ConnectError) -> Self {
        CliError::Api(e)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<ConnectError>() {
            Ok(c) => CliError::Api(c),
            Err(e) => CliError::Io(format!("{e:#}")),
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let global = cli.global;
    match cli.command {
        Some(Command::Serve(args)) => serve::run(&global, args).await,
        Some(Command::Migrate(args)) => migrate::run(&global, args).await,
        Some(Command::Context(c)) => context::run(&global, c),
        command => {
            let selected = select_context(&global)?;
            run_in_context(&global, &selected, command).await
        }
    }
}

async fn run_in_context(
    global: &GlobalArgs,
    selected: &Selected,
    command: Option<Command>,
) -> Result<(), CliError> {
    let options = &selected.options;
    match command {
        None => {
            start_console_logging(options)?;
            // A flag can make a session read-only, never make a read-only context writable.
            let start = crate::tui::StartOptions {
                read_only: global.read_only || selected.context_read_only(),
                context: Some(selected.context.name.clone()),
                namespace: selected.default_namespace().map(str::to_string),
                contexts: switchable_contexts(global),
                read_only_flag: global.read_only,
            };
            crate::tui::run(options, start)
                .await
                .map_err(CliError::from)
        }
        // Needs only the secret, not a server.
        Some(Command::Token(token::TokenCommand::Bootstrap)) => token::bootstrap(&GlobalArgs {
            shared_secret_file: options.shared_secret_file.clone(),
            data_dir: options.data_dir.clone(),
            ..global.clone()
        }),
        Some(command) => {
            if let Some(what) = command.change()
                && (global.read_only || selected.context_read_only())
            {
                return Err(CliError::Usage(format!(
                    "this session is read-only ({}): `{what}` would change something",
                    if global.read_only {
                        "--read-only"
                    } else {
                        "the context says read-only = true"
                    }
                )));
            }
            let command = with_default_namespace(command, selected.default_namespace());
            let connection = open(selected).await?;
            let result = match command {
                Command::Namespaces(c) => namespaces::run(&connection.client, c).await,
                Command::Accounts(c) => accounts::run(&connection.client, c).await,
                Command::Directory(c) => directory::run(&connection.client, c).await,
                Command::Token(c) => token::run(&connection.client, c).await,
                Command::Activity(c) => activity::run(&connection.client, c).await,
                Command::Permissions(c) => permissions::run(&connection.client, c).await,
                Command::Report(args) => report::run(&connection.client, args).await,
                Command::Routes(c) => routes::run(&connection.client, c).await,
                Command::Policies(c) => policies::run(&connection.client, c).await,
                Command::Access(c) => access::run(&connection.client, c).await,
                Command::Whoami { output } => {
                    whoami::run(&connection.client, &connection.target, output).await
                }
                Command::Serve(_) | Command::Migrate(_) | Command::Context(_) => Ok(()),
            };
            connection.close().await;
            result
        }
    }
}

impl Command {
    /// The command's name when it changes something on the server (refused in a read-only session).
    pub fn change(&self) -> Option<&'static str> {
        use accounts::AccountsCommand as A;
        use namespaces::NamespacesCommand as N;
        use permissions::PermissionsCommand as P;
        match self {
            Command::Accounts(A::Create(_)) => Some("accounts create"),
            Command::Accounts(A::Update { .. }) => Some("accounts update"),
            Command::Accounts(A::Rotate { .. }) => Some("accounts rotate"),
            Command::Accounts(A::Disable { .. }) => Some("accounts disable"),
            Command::Accounts(A::Enable { .. }) => Some("accounts enable"),
            Command::Accounts(A::Delete { .. }) => Some("accounts delete"),
            Command::Namespaces(N::Create { .. }) => Some("namespaces create"),
            Command::Namespaces(N::Rename { .. }) => Some("namespaces rename"),
            Command::Namespaces(N::Delete { .. }) => Some("namespaces delete"),
            Command::Directory(directory::DirectoryCommand::Import { .. }) => {
                Some("directory import")
            }
            Command::Permissions(P::Grant { .. }) => Some("permissions grant"),
            Command::Permissions(P::Revoke { .. }) => Some("permissions revoke"),
            Command::Routes(routes::RoutesCommand::Create { .. }) => Some("routes create"),
            Command::Routes(routes::RoutesCommand::Delete { .. }) => Some("routes delete"),
            Command::Policies(policies::PoliciesCommand::Set(_)) => Some("policies set"),
            Command::Policies(policies::PoliciesCommand::Delete { .. }) => Some("policies delete"),
            Command::Policies(policies::PoliciesCommand::Grant { .. }) => Some("policies grant"),
            Command::Policies(policies::PoliciesCommand::Revoke { .. }) => Some("policies revoke"),
            _ => None,
        }
    }
}

/// `accounts create` without `--namespace` creates in the context's default namespace (else the root).
fn with_default_namespace(command: Command, namespace: Option<&str>) -> Command {
    match (command, namespace) {
        (Command::Accounts(accounts::AccountsCommand::Create(mut args)), Some(ns))
            if args.namespace.is_none() =>
        {
            args.namespace = Some(ns.to_string());
            Command::Accounts(accounts::AccountsCommand::Create(args))
        }
        (command, _) => command,
    }
}

/// The context a command runs in, and the connection it makes: explicit flags over the context's values.
#[derive(Debug, Clone)]
pub struct Selected {
    pub context: Context,
    /// The config file the context comes from; `None` for the implicit `embedded` context.
    pub config_file: Option<PathBuf>,
    pub options: ConnectOptions,
}

impl Selected {
    /// The context's `read-only`, to be OR-ed with the `--read-only` flag: a flag can make a session read-only,
    /// never make a read-only context writable.
    pub fn context_read_only(&self) -> bool {
        self.context.read_only()
    }

    /// The context's default namespace (a name path or an id).
    pub fn default_namespace(&self) -> Option<&str> {
        self.context.namespace()
    }

    /// `error` with the context it happened in, for failures while connecting (an unreadable token file of the
    /// context, say).
    fn annotate(&self, error: CliError) -> CliError {
        let Some(file) = &self.config_file else {
            return error;
        };
        let note = format!(" (context \"{}\" in {})", self.context.name, file.display());
        match error {
            CliError::Io(m) => CliError::Io(m + &note),
            CliError::Api(mut e) => {
                e.message.push_str(&note);
                CliError::Api(e)
            }
            other => other,
        }
    }
}

/// Loads the contexts and picks the one in force (`--context`/`$SACON_CONTEXT`, else the file's
/// `current-context`, else `embedded`); an unknown name is a usage error listing the known ones.
pub fn select_context(global: &GlobalArgs) -> Result<Selected, CliError> {
    let contexts = Contexts::load().map_err(context_error)?;
    let context = contexts
        .select(global.context_name())
        .map_err(context_error)?
        .clone();
    let config_file = contexts
        .defines(&context.name)
        .then(|| contexts.path().map(PathBuf::from))
        .flatten();
    let options = context.connect_options(&flag_options(global));
    Ok(Selected {
        config_file,
        context,
        options,
    })
}

/// The contexts the console's switcher offers, each connected with only its own values (and the data
/// directory, timeout and demo flags of this run); none when the config file cannot be read.
fn switchable_contexts(global: &GlobalArgs) -> Vec<crate::tui::ContextChoice> {
    let Ok(contexts) = Contexts::load() else {
        return Vec::new();
    };
    let base = ConnectOptions {
        api_url: None,
        token_file: None,
        token: None,
        shared_secret_file: None,
        data_dir: global.data_dir.clone(),
        ca_file: None,
        no_demo: global.no_demo,
        timeout: Some(global.timeout),
    };
    contexts
        .iter()
        .map(|c| crate::tui::ContextChoice {
            name: c.name.clone(),
            target: c.api_url.clone().unwrap_or_else(|| "embedded".into()),
            options: c.connect_options(&base),
            read_only: c.read_only(),
            namespace: c.namespace().map(str::to_string),
        })
        .collect()
}

pub(crate) fn context_error(e: ContextError) -> CliError {
    match e {
        ContextError::Unknown { .. } => CliError::Usage(e.to_string()),
        other => CliError::Io(other.to_string()),
    }
}

/// The connection the flags alone ask for.
fn flag_options(global: &GlobalArgs) -> ConnectOptions {
    // An explicit --token-file wins over the environment.
    let token = match &global.token_file {
        Some(_) => None,
        None => std::env::var("SACON_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    ConnectOptions {
        api_url: global.api_url.clone(),
        token_file: global.token_file.clone(),
        token,
        shared_secret_file: global.shared_secret_file.clone(),
        data_dir: global.data_dir.clone(),
        ca_file: global.ca_file.clone(),
        no_demo: global.no_demo,
        timeout: Some(global.timeout),
    }
}

/// Connects, starts the log file of an embedded console, and says once when a new data directory was made.
async fn open(selected: &Selected) -> Result<Connection, CliError> {
    let connection = embedded::connect(&selected.options)
        .await
        .map_err(|e| selected.annotate(e.into()))?;
    if let Some(dir) = &connection.data_dir {
        crate::logging::init_file(&crate::config::log_path(dir));
        if connection.created {
            let shown = embedded::display_path(dir);
            if connection.seeded {
                eprintln!(
                    "created data directory {shown} with the demo directory (namespaces and 300 users); \
                     --no-demo to start empty"
                );
            } else {
                eprintln!("created data directory {shown} (empty)");
            }
        }
    }
    Ok(connection)
}

/// The console's log goes to a file in the data directory, never to the terminal. The directory is made
/// here (0700) when missing, which is how the server would make it.
fn start_console_logging(options: &ConnectOptions) -> Result<(), CliError> {
    if options.is_remote() {
        return Ok(());
    }
    let dir = options.data_dir();
    serve::ensure_private_dir(&dir)?;
    crate::logging::init_file(&crate::config::log_path(&dir));
    Ok(())
}

/// The namespace tree, or `None` from a server without the namespace service.
async fn namespace_tree(client: &crate::api::Client) -> Result<Option<NamespaceTree>, CliError> {
    match client.list_namespaces().await {
        Ok(list) => Ok(Some(NamespaceTree::new(list))),
        Err(e) if e.code == Code::Unimplemented => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Finds a namespace by id or path, or says which were tried.
fn resolve_namespace<'t>(
    tree: &'t NamespaceTree,
    id_or_path: &str,
) -> Result<&'t crate::model::Namespace, CliError> {
    tree.resolve(id_or_path).ok_or_else(|| {
        CliError::Api(ConnectError::not_found(format!(
            "no namespace has the id or path {id_or_path:?}, or this credential holds no role in it (see \
             `sacon namespaces list`)"
        )))
    })
}

/// The root namespace ("Global").
fn root_namespace(tree: &NamespaceTree) -> Result<&crate::model::Namespace, CliError> {
    tree.roots()
        .iter()
        .filter_map(|id| tree.get(id))
        .find(|ns| ns.parent_id.is_empty())
        .ok_or_else(|| CliError::Api(ConnectError::not_found("the server has no root namespace")))
}

/// A namespace as the CLI writes it: names from the root joined by `/`, the form `--namespace` accepts.
fn slash_path(tree: &NamespaceTree, id: &str) -> String {
    tree.path_names(id).join("/")
}

fn parse_api_url(text: &str) -> Result<String, String> {
    crate::context::check_api_url(text)
}

/// A humantime duration such as `10s`, `500ms`, `30d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (write a duration like 30s, 12h, 30d)"))
}

pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err("a timeout must be longer than zero".into());
    }
    Ok(d)
}

/// `never`, `7d`, `30d`, `90d`, `1y` or a future date `YYYY-MM-DD`.
fn parse_expiry(text: &str) -> Result<Expiry, String> {
    let expiry = Expiry::parse(text).map_err(|e| e.to_string())?;
    expiry
        .resolve(chrono::Utc::now())
        .map_err(|e| e.to_string())?;
    Ok(expiry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("sacon").chain(args.iter().copied()))
    }

    #[test]
    fn global_flags_go_before_or_after_the_command() {
        let a = parse(&["--data-dir", "/d", "accounts", "list"]).unwrap();
        let b = parse(&["accounts", "list", "--data-dir", "/d"]).unwrap();
        assert_eq!(a.global.data_dir, Some(PathBuf::from("/d")));
        assert_eq!(b.global.data_dir, Some(PathBuf::from("/d")));
        assert_eq!(b.global.timeout, Duration::from_secs(10));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let exit = |args: &[&str]| parse(args).unwrap_err().exit_code();
        assert_eq!(
            exit(&["accounts", "create", "--user-id", "u", "--expires", "soon"]),
            2
        );
        assert_eq!(
            exit(&[
                "accounts",
                "create",
                "--user-id",
                "u",
                "--expires",
                "2001-01-01"
            ]),
            2
        );
        assert_eq!(exit(&["accounts", "list", "--output", "xml"]), 2);
        assert_eq!(exit(&["namespaces", "list", "--output", "csv"]), 2);
        assert_eq!(exit(&["accounts", "list", "--expiring-within", "soon"]), 2);
        assert_eq!(exit(&["accounts", "list", "--filter", "[1]"]), 2);
        assert_eq!(exit(&["accounts", "list", "--include-inherited"]), 2);
        assert_eq!(exit(&["--timeout", "0s", "accounts", "list"]), 2);
        assert_eq!(exit(&["--api-url", "ftp://x", "accounts", "list"]), 2);
        assert!(parse(&["accounts", "create", "--user-id", "u", "--expires", "90d"]).is_ok());
    }

    #[test]
    fn the_contexts_namespace_fills_only_an_absent_namespace() {
        let namespace = |args: &[&str], default: Option<&str>| {
            let command = parse(args).unwrap().command.unwrap();
            match with_default_namespace(command, default) {
                Command::Accounts(accounts::AccountsCommand::Create(a)) => a.namespace,
                other => panic!("{other:?}"),
            }
        };
        let create = ["accounts", "create", "--user-id", "u"];
        assert_eq!(
            namespace(&create, Some("Global/Eng")).as_deref(),
            Some("Global/Eng")
        );
        assert_eq!(namespace(&create, None), None);
        let explicit = [
            "accounts",
            "create",
            "--user-id",
            "u",
            "--namespace",
            "Global",
        ];
        assert_eq!(
            namespace(&explicit, Some("Global/Eng")).as_deref(),
            Some("Global")
        );
        let a = parse(&["accounts", "list", "--context", "prod"]).unwrap();
        assert_eq!(a.global.context_name(), Some("prod"));
        let empty = parse(&["--context", "", "accounts", "list"]).unwrap();
        assert_eq!(empty.global.context_name(), None);
    }

    #[test]
    fn errors_render_sanitized_with_their_code() {
        let e = CliError::Api(ConnectError::not_found("no account \u{1b}[31mx"));
        assert_eq!(e.render(), "error: not_found: no account [31mx");
        assert_eq!(e.exit_code(), 1);
        assert_eq!(CliError::Usage("bad".into()).exit_code(), 2);
        let wrapped: CliError =
            anyhow::Error::new(ConnectError::new(Code::Unavailable, "down")).into();
        assert_eq!(wrapped.render(), "error: unavailable: down");
    }
}
