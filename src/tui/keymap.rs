//! The one keymap table: (context, key) → command with a description. Key dispatch, the footer and the help
//! overlay are all read from `BINDINGS`, so a key can never be handled without being documented, or the reverse;
//! the footer and help leave out what the session's `Permissions` do not offer.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::permissions::Permissions;
use super::screens::accounts::{SortKey, StateFilter};

/// Where the keyboard focus is. Lookups fall back through `Context::chain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Works everywhere, even inside text fields.
    Global,
    /// Shared by both lists (namespace picker and account list).
    List,
    Namespaces,
    Accounts,
    /// The `/` filter line of a list while it is being typed.
    FilterInput,
    /// The account detail with its history.
    Detail,
    /// The activity log of a namespace's subtree.
    Activity,
    /// One change of the activity log, in full.
    Entry,
    /// Who holds which role in a namespace.
    Roles,
    /// The context switcher.
    Contexts,
    /// The command palette.
    Palette,
    /// The sort chooser of the account list.
    Sort,
    /// The policies of a namespace.
    Policies,
    /// The policy builder.
    PolicyForm,
    /// The token view's grant-access step.
    Grant,
    /// Editing keys of every one-line text field (filters, prompts, form fields); read by the fields
    /// themselves, so they are in no chain.
    Text,
    /// The add and edit forms.
    Form,
    Secret,
    /// The save-path prompt of the token view.
    SavePrompt,
    /// Any yes/no question.
    Confirm,
    Help,
}

impl Context {
    /// The contexts searched for a key, most specific first.
    pub fn chain(self) -> &'static [Context] {
        use Context::*;
        match self {
            Global => &[Global],
            List => &[List, Global],
            Namespaces => &[Namespaces, List, Global],
            Accounts => &[Accounts, List, Global],
            FilterInput => &[FilterInput, Global],
            Detail => &[Detail, Global],
            Activity => &[Activity, List, Global],
            Entry => &[Entry, Global],
            Roles => &[Roles, List, Global],
            Contexts => &[Contexts, Global],
            Palette => &[Palette, Global],
            Sort => &[Sort, Global],
            Policies => &[Policies, List, Global],
            PolicyForm => &[PolicyForm, Global],
            Grant => &[Grant, Global],
            Text => &[Text],
            Form => &[Form, Global],
            Secret => &[Secret, Global],
            SavePrompt => &[SavePrompt, Global],
            Confirm => &[Confirm, Global],
            Help => &[Help, Global],
        }
    }

    /// Section title in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::List => "Lists",
            Context::Namespaces => "Namespace picker",
            Context::Accounts => "Account list",
            Context::FilterInput => "Filter line",
            Context::Detail => "Account detail",
            Context::Activity => "Activity log",
            Context::Entry => "Activity entry",
            Context::Roles => "Permissions",
            Context::Contexts => "Context switcher",
            Context::Palette => "Command palette",
            Context::Sort => "Sort chooser",
            Context::Policies => "Policies",
            Context::PolicyForm => "Policy builder",
            Context::Grant => "Grant access (from the token view)",
            Context::Text => "Text fields (filters, prompts, the form)",
            Context::Form => "Add / edit form",
            Context::Secret => "Token view (shown once)",
            Context::SavePrompt => "Save prompt",
            Context::Confirm => "Confirmations",
            Context::Help => "Help",
        }
    }

    /// True when printable keys without a binding are typed into a text field rather than ignored.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::FilterInput
                | Context::Form
                | Context::SavePrompt
                | Context::Help
                | Context::Palette
                | Context::PolicyForm
        )
    }
}

/// What a key asks for; `update` decides what it means in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Quit,
    ForceQuit,
    Help,
    Close,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Expand,
    Collapse,
    Filter,
    Select,
    Namespaces,
    Refresh,
    Add,
    Delete,
    Rotate,
    Edit,
    Detail,
    /// Open the sort chooser.
    SortBy,
    /// Sort by this column (again: reverse it).
    SortColumn(SortKey),
    SortReverse,
    /// Mark or unmark the account under the cursor (then move down).
    Mark,
    /// Mark every account the list shows (filters applied), or unmark them when all are marked.
    MarkAll,
    /// Forget every mark.
    Unmark,
    /// An editing key of a text field.
    Text(TextOp),
    ToggleInherited,
    /// List the whole subtree below the namespace.
    ToggleSubtree,
    /// Turn a state filter of the account list on or off.
    State(StateFilter),
    /// Turn every state filter off.
    ClearStates,
    ApplyFilter,
    NextField,
    PrevField,
    SwitchTab,
    Left,
    Right,
    Activate,
    Submit,
    Reveal,
    Copy,
    Save,
    CurlLines,
    Yes,
    No,
    /// Open the activity log.
    Activity,
    ActorFilter,
    CycleAction,
    ClearFilters,
    PrevEntry,
    NextEntry,
    /// Open the permissions screen.
    Permissions,
    /// Grant a role on the namespace.
    Grant,
    /// Revoke the binding under the cursor.
    Revoke,
    /// Open the context switcher.
    SwitchContext,
    /// Disable the account (asked first), or enable it again.
    ToggleDisabled,
    /// Create a child of the namespace under the cursor.
    NewNamespace,
    /// Rename the namespace under the cursor.
    RenameNamespace,
    /// Delete the namespace under the cursor (asked first).
    DeleteNamespace,
    /// Open the command palette.
    Palette,
    /// Open the policies screen of the namespace.
    Policies,
    NewPolicy,
    EditPolicy,
    DeletePolicy,
    /// From the token view: let the account through a route (a policy names its user id).
    GrantAccess,
    /// In the delete question: also take the user id out of the policies that name it, or not.
    ToggleUnname,
    /// Export the account list as filtered.
    Export,
}

/// What an editing key does to a one-line text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextOp {
    CharLeft,
    CharRight,
    WordLeft,
    WordRight,
    Start,
    End,
    DeleteBack,
    DeleteForward,
    DeleteWordBack,
    DeleteWordForward,
    DeleteToStart,
    DeleteToEnd,
}

/// A key as written in the table: a code and the modifiers that must be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    pub const fn ch(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    pub const fn alt(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::ALT,
        }
    }

    pub const fn ctrl_code(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::CONTROL,
        }
    }

    /// The key an event stands for. Shift is dropped where the code already carries it (an upper-case letter,
    /// BackTab), because terminals disagree on whether they report it.
    pub fn from_event(event: &KeyEvent) -> Key {
        let mut mods = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if !matches!(event.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods |= event.modifiers & KeyModifiers::SHIFT;
        }
        let code = match event.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Key { code, mods }
    }

    /// How the footer and help write it: `Ctrl-S`, `PgDn`, `↑`, `S`.
    pub fn label(self) -> String {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => {
                if self.mods.contains(KeyModifiers::CONTROL) {
                    c.to_ascii_uppercase().to_string()
                } else {
                    c.to_string()
                }
            }
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Delete => "Del".into(),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            out.push_str("Shift-");
        }
        out.push_str(&name);
        out
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub command: Command,
    /// Shown in help; the first word or two are used in the footer.
    pub description: &'static str,
    /// The footer's short form; `None` keeps the binding out of the footer (it is still in help).
    pub footer: Option<&'static str>,
}

impl Binding {
    /// `↑/k`, `Ctrl-S`, `R/F5`.
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join("/")
    }
}

const fn b(
    context: Context,
    keys: &'static [Key],
    command: Command,
    description: &'static str,
    footer: Option<&'static str>,
) -> Binding {
    Binding {
        context,
        keys,
        command,
        description,
        footer,
    }
}

use Command as C;
use Context as X;

const UP: Key = Key::plain(KeyCode::Up);
const DOWN: Key = Key::plain(KeyCode::Down);
const LEFT: Key = Key::plain(KeyCode::Left);
const RIGHT: Key = Key::plain(KeyCode::Right);
const ENTER: Key = Key::plain(KeyCode::Enter);
const ESC: Key = Key::plain(KeyCode::Esc);
const PGUP: Key = Key::plain(KeyCode::PageUp);
const PGDN: Key = Key::plain(KeyCode::PageDown);
const HOME: Key = Key::plain(KeyCode::Home);
const END: Key = Key::plain(KeyCode::End);
const F5: Key = Key::plain(KeyCode::F(5));

/// Every binding, in the order help lists them (and the footer, within a context).
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    b(X::Global, &[Key::ctrl('c')], C::ForceQuit, "quit from anywhere", None),
    // Lists
    b(X::List, &[UP, Key::ch('k')], C::Up, "move up", None),
    b(X::List, &[DOWN, Key::ch('j')], C::Down, "move down", None),
    b(X::List, &[PGUP], C::PageUp, "page up", None),
    b(X::List, &[PGDN], C::PageDown, "page down", None),
    b(X::List, &[Key::ch('g'), HOME], C::Top, "first row", None),
    b(X::List, &[Key::ch('G'), END], C::Bottom, "last row", None),
    b(X::List, &[Key::ch('?')], C::Help, "help (type to filter it)", Some("help")),
    b(X::List, &[Key::ch('q')], C::Quit, "quit", Some("quit")),
    b(X::List, &[Key::ch('C')], C::SwitchContext, "switch context (config.toml)", None),
    b(X::List, &[Key::ch(':')], C::Palette, "command palette: find any command of this screen", None),
    // Namespace picker
    b(X::Namespaces, &[ENTER], C::Select, "open the namespace", Some("open")),
    b(X::Namespaces, &[RIGHT, Key::ch('l')], C::Expand, "expand", Some("expand")),
    b(X::Namespaces, &[LEFT, Key::ch('h')], C::Collapse, "collapse (or go to parent)", Some("collapse")),
    b(X::Namespaces, &[Key::ch('/')], C::Filter, "filter by name", Some("filter")),
    b(X::Namespaces, &[Key::ch('L')], C::Activity, "activity log of the namespace and below", Some("activity")),
    b(X::Namespaces, &[Key::ch('p')], C::Policies, "policies and routes of the namespace", Some("policies")),
    b(X::Namespaces, &[Key::ch('P')], C::Permissions, "who holds which role in the namespace", Some("permissions")),
    b(X::Namespaces, &[Key::ch('a')], C::NewNamespace, "new namespace inside the one under the cursor", Some("new")),
    b(X::Namespaces, &[Key::ch('e')], C::RenameNamespace, "rename the namespace", Some("rename")),
    b(X::Namespaces, &[Key::ch('d')], C::DeleteNamespace, "delete the namespace (when empty)", Some("delete")),
    b(X::Namespaces, &[Key::ch('R'), F5], C::Refresh, "refresh / retry", Some("refresh")),
    b(X::Namespaces, &[ESC], C::Close, "back to the account list", None),
    // Account list
    b(X::Accounts, &[Key::ch('a')], C::Add, "add an account", Some("add")),
    b(X::Accounts, &[ENTER], C::Detail, "detail and history of the account", Some("detail")),
    b(X::Accounts, &[Key::ch('n')], C::Namespaces, "pick a namespace", Some("namespace")),
    b(X::Accounts, &[Key::ch('L')], C::Activity, "activity log of the namespace and below", Some("activity")),
    b(X::Accounts, &[Key::ch('e')], C::Edit, "edit description and expiry", Some("edit")),
    b(X::Accounts, &[Key::ch('r')], C::Rotate, "rotate: issue a new token", Some("rotate")),
    b(X::Accounts, &[Key::ch('d')], C::Delete, "delete the account (the marked ones, if any)", Some("delete")),
    b(X::Accounts, &[Key::ch('D')], C::ToggleDisabled, "disable / enable: /verify refuses a disabled account, reversibly (the marked ones, if any)", None),
    b(X::Accounts, &[Key::ch('/')], C::Filter, "filter (user id, description, id)", Some("filter")),
    b(X::Accounts, &[Key::ch('s')], C::SortBy, "sort by a column: s then u, d, c, e or l", Some("sort")),
    b(X::Accounts, &[Key::ch('S')], C::SortReverse, "reverse the sort", None),
    b(X::Accounts, &[Key::ch('i')], C::ToggleInherited, "show / hide inherited accounts", Some("inherited")),
    b(X::Accounts, &[Key::ch('t')], C::ToggleSubtree, "subtree: every account of the namespace and all below it", Some("subtree")),
    b(X::Accounts, &[Key::ch('1')], C::State(StateFilter::Expired), "only expired (1–4: one expiry state at a time)", Some("states")),
    b(X::Accounts, &[Key::ch('2')], C::State(StateFilter::Expiring7), "only expiring within 7 days", None),
    b(X::Accounts, &[Key::ch('3')], C::State(StateFilter::Expiring30), "only expiring within 30 days", None),
    b(X::Accounts, &[Key::ch('4')], C::State(StateFilter::NeverExpires), "only never expiring", None),
    b(X::Accounts, &[Key::ch('5')], C::State(StateFilter::Unused), "only unused for 90 days (5–6: one use state at a time)", None),
    b(X::Accounts, &[Key::ch('6')], C::State(StateFilter::NeverUsed), "only never used", None),
    b(X::Accounts, &[Key::ch('7')], C::State(StateFilter::Disabled), "only disabled (states combine with each other and /)", None),
    b(X::Accounts, &[Key::ch('0')], C::ClearStates, "clear the state filters", None),
    b(X::Accounts, &[Key::ch('x')], C::Export, "export the list as filtered (CSV, or JSON for a .json file)", None),
    b(X::Accounts, &[Key::ch(' ')], C::Mark, "mark / unmark the account (d, D then act on every marked one)", Some("mark")),
    b(X::Accounts, &[Key::ch('*')], C::MarkAll, "mark every account shown (filters applied), or unmark them", None),
    b(X::Accounts, &[Key::ch('u')], C::Unmark, "forget the marks", None),
    b(X::Accounts, &[Key::ch('p')], C::Policies, "policies: what the accounts here may reach", Some("policies")),
    b(X::Accounts, &[Key::ch('P')], C::Permissions, "who holds which role in the namespace", Some("permissions")),
    b(X::Accounts, &[Key::ch('R'), F5], C::Refresh, "refresh / retry", Some("refresh")),
    b(X::Accounts, &[ESC], C::Close, "clear the filter (with none: forget the marks)", None),
    // Filter line
    b(X::FilterInput, &[ENTER], C::ApplyFilter, "apply the filter", Some("apply")),
    b(X::FilterInput, &[ESC], C::Close, "clear the filter", Some("clear")),
    // Detail
    b(X::Detail, &[ESC, ENTER], C::Close, "close", Some("close")),
    b(X::Detail, &[Key::ch('e')], C::Edit, "edit", Some("edit")),
    b(X::Detail, &[Key::ch('r')], C::Rotate, "rotate", Some("rotate")),
    b(X::Detail, &[Key::ch('d')], C::Delete, "delete", Some("delete")),
    b(X::Detail, &[Key::ch('D')], C::ToggleDisabled, "disable / enable", Some("disable")),
    b(X::Detail, &[Key::ch('L')], C::Activity, "the account's whole activity log", Some("activity")),
    b(X::Detail, &[UP, Key::ch('k')], C::Up, "scroll the history up", None),
    b(X::Detail, &[DOWN, Key::ch('j')], C::Down, "scroll the history down", None),
    b(X::Detail, &[Key::ch('R'), F5], C::Refresh, "reload the history", Some("reload")),
    // Activity log
    b(X::Activity, &[ENTER], C::Detail, "detail of the change (before → after)", Some("detail")),
    b(X::Activity, &[Key::ch('w')], C::ActorFilter, "filter by who made the change (actor)", Some("actor")),
    b(X::Activity, &[Key::ch('t')], C::CycleAction, "filter by action: create, update, rotate, disable, enable, delete, import, any", Some("action")),
    b(X::Activity, &[Key::ch('x')], C::ClearFilters, "clear the filters", Some("clear")),
    b(X::Activity, &[Key::ch('R'), F5], C::Refresh, "refresh (newest first)", Some("refresh")),
    b(X::Activity, &[ESC], C::Close, "back", Some("back")),
    // Permissions
    b(X::Roles, &[Key::ch('a')], C::Grant, "grant a role here: `ID role` or `group:NAME role`", Some("grant")),
    b(X::Roles, &[Key::ch('d')], C::Revoke, "revoke the binding (made on this namespace)", Some("revoke")),
    b(X::Roles, &[Key::ch('R'), F5], C::Refresh, "refresh", Some("refresh")),
    b(X::Roles, &[ESC], C::Close, "back", Some("back")),
    // Context switcher
    b(X::Contexts, &[UP, Key::ch('k')], C::Up, "previous context", None),
    b(X::Contexts, &[DOWN, Key::ch('j')], C::Down, "next context", None),
    b(X::Contexts, &[ENTER], C::Select, "switch to the context", Some("switch")),
    b(X::Contexts, &[ESC], C::Close, "close", Some("close")),
    // Command palette
    b(X::Palette, &[UP], C::Up, "previous command", None),
    b(X::Palette, &[DOWN], C::Down, "next command", None),
    b(X::Palette, &[ENTER], C::Select, "run the command", Some("run")),
    b(X::Palette, &[ESC], C::Close, "close", Some("close")),
    // Policies
    b(X::Policies, &[Key::ch('a')], C::NewPolicy, "new policy in the namespace", Some("new")),
    b(X::Policies, &[ENTER, Key::ch('e')], C::EditPolicy, "edit the policy in the builder", Some("edit")),
    b(X::Policies, &[Key::ch('d')], C::DeletePolicy, "delete the policy (asked first; taken off its routes)", Some("delete")),
    b(X::Policies, &[Key::ch('R'), F5], C::Refresh, "refresh", Some("refresh")),
    b(X::Policies, &[ESC], C::Close, "back", Some("back")),
    // Policy builder
    b(X::PolicyForm, &[Key::plain(KeyCode::Tab)], C::NextField, "next field", Some("next")),
    b(X::PolicyForm, &[Key::plain(KeyCode::BackTab)], C::PrevField, "previous field", None),
    b(X::PolicyForm, &[UP], C::Up, "previous search result (else previous field)", None),
    b(X::PolicyForm, &[DOWN], C::Down, "next search result (else next field)", None),
    b(X::PolicyForm, &[LEFT], C::Left, "enforced: no / yes (on that field)", None),
    b(X::PolicyForm, &[RIGHT], C::Right, "enforced: no / yes (on that field)", None),
    b(X::PolicyForm, &[ENTER], C::Activate, "pick the user found / next field / toggle enforced", None),
    b(X::PolicyForm, &[Key::ctrl('s')], C::Submit, "save the policy", Some("save")),
    b(X::PolicyForm, &[ESC], C::Close, "cancel", Some("cancel")),
    // Grant access
    b(X::Grant, &[UP, Key::ch('k')], C::Up, "previous choice", None),
    b(X::Grant, &[DOWN, Key::ch('j')], C::Down, "next choice", None),
    b(X::Grant, &[ENTER], C::Select, "grant: add to the policy, or a new policy on the route", Some("grant")),
    b(X::Grant, &[ESC], C::Close, "back to the token", Some("back")),
    // Sort chooser
    b(X::Sort, &[Key::ch('u')], C::SortColumn(SortKey::UserId), "sort by user id (again: reverse)", None),
    b(X::Sort, &[Key::ch('d')], C::SortColumn(SortKey::Description), "sort by description", None),
    b(X::Sort, &[Key::ch('c')], C::SortColumn(SortKey::Created), "sort by creation time", None),
    b(X::Sort, &[Key::ch('e')], C::SortColumn(SortKey::Expires), "sort by expiry", None),
    b(X::Sort, &[Key::ch('l')], C::SortColumn(SortKey::LastUsed), "sort by last use", None),
    b(X::Sort, &[UP, Key::ch('k')], C::Up, "previous column", None),
    b(X::Sort, &[DOWN, Key::ch('j')], C::Down, "next column", None),
    b(X::Sort, &[ENTER], C::Select, "sort by the highlighted column", Some("sort")),
    b(X::Sort, &[ESC, Key::ch('s')], C::Close, "close", Some("close")),
    // Activity entry
    b(X::Entry, &[LEFT, Key::ch('p')], C::PrevEntry, "previous change (newer)", Some("newer")),
    b(X::Entry, &[RIGHT, Key::ch('n')], C::NextEntry, "next change (older)", Some("older")),
    b(X::Entry, &[UP, Key::ch('k')], C::Up, "scroll up", None),
    b(X::Entry, &[DOWN, Key::ch('j')], C::Down, "scroll down", None),
    b(X::Entry, &[PGUP], C::PageUp, "page up", None),
    b(X::Entry, &[PGDN], C::PageDown, "page down", None),
    b(X::Entry, &[ESC, ENTER], C::Close, "close", Some("close")),
    // Form
    b(X::Form, &[Key::plain(KeyCode::Tab)], C::NextField, "next field", Some("next")),
    b(X::Form, &[Key::plain(KeyCode::BackTab)], C::PrevField, "previous field", None),
    b(X::Form, &[Key::ctrl('t')], C::SwitchTab, "switch Unique / Impersonated", Some("tab")),
    b(X::Form, &[LEFT], C::Left, "previous tab or preset (on the tab bar / Expires)", None),
    b(X::Form, &[RIGHT], C::Right, "next tab or preset (on the tab bar / Expires)", None),
    b(X::Form, &[UP], C::Up, "previous search result (else previous field)", None),
    b(X::Form, &[DOWN], C::Down, "next search result (else next field)", None),
    b(X::Form, &[ENTER], C::Activate, "pick the result / next field / create", None),
    b(X::Form, &[Key::ctrl('s')], C::Submit, "submit", Some("submit")),
    b(X::Form, &[ESC], C::Close, "cancel", Some("cancel")),
    // Secret
    b(X::Secret, &[Key::ch('v')], C::Reveal, "reveal / mask the token", Some("reveal")),
    b(X::Secret, &[Key::ch('c')], C::Copy, "copy (terminal clipboard, system clipboard)", Some("copy")),
    b(X::Secret, &[Key::ch('s')], C::Save, "save to a file (mode 0600)", Some("save")),
    b(X::Secret, &[Key::ch('h')], C::CurlLines, "curl lines for the three header forms", Some("curl")),
    b(X::Secret, &[Key::ch('g')], C::GrantAccess, "grant access: a route or policy lets the account through", Some("grant")),
    b(X::Secret, &[ESC, ENTER], C::Close, "close (the token is gone after this)", Some("close")),
    // Save prompt
    b(X::SavePrompt, &[ENTER], C::Submit, "save", Some("save")),
    b(X::SavePrompt, &[ESC], C::Close, "cancel", Some("cancel")),
    // Confirm
    b(X::Confirm, &[Key::ch('y'), Key::ch('Y')], C::Yes, "yes", Some("yes")),
    b(X::Confirm, &[Key::ch('n'), Key::ch('N'), ESC, ENTER], C::No, "no", Some("no")),
    b(X::Confirm, &[LEFT], C::Left, "rotate: a shorter time the old token keeps working", None),
    b(X::Confirm, &[RIGHT], C::Right, "rotate: a longer time the old token keeps working", None),
    b(X::Confirm, &[Key::ch('p')], C::ToggleUnname, "delete: also take its user id out of the policies naming it, or not", None),
    // Text fields
    b(X::Text, &[LEFT, Key::ctrl('b')], C::Text(TextOp::CharLeft), "one character left", None),
    b(X::Text, &[RIGHT, Key::ctrl('f')], C::Text(TextOp::CharRight), "one character right", None),
    b(X::Text, &[Key::alt(KeyCode::Char('b')), Key::ctrl_code(KeyCode::Left), Key::alt(KeyCode::Left)], C::Text(TextOp::WordLeft), "one word left", None),
    b(X::Text, &[Key::alt(KeyCode::Char('f')), Key::ctrl_code(KeyCode::Right), Key::alt(KeyCode::Right)], C::Text(TextOp::WordRight), "one word right", None),
    b(X::Text, &[HOME, Key::ctrl('a')], C::Text(TextOp::Start), "start of the line", None),
    b(X::Text, &[END, Key::ctrl('e')], C::Text(TextOp::End), "end of the line", None),
    b(X::Text, &[Key::plain(KeyCode::Backspace), Key::ctrl('h')], C::Text(TextOp::DeleteBack), "delete the character before the cursor", None),
    b(X::Text, &[Key::plain(KeyCode::Delete), Key::ctrl('d')], C::Text(TextOp::DeleteForward), "delete the character under the cursor", None),
    b(X::Text, &[Key::ctrl('w'), Key::alt(KeyCode::Backspace)], C::Text(TextOp::DeleteWordBack), "delete the word before the cursor", None),
    b(X::Text, &[Key::alt(KeyCode::Char('d')), Key::ctrl_code(KeyCode::Delete)], C::Text(TextOp::DeleteWordForward), "delete the word after the cursor", None),
    b(X::Text, &[Key::ctrl('u')], C::Text(TextOp::DeleteToStart), "delete to the start of the line (clear it)", None),
    b(X::Text, &[Key::ctrl('k')], C::Text(TextOp::DeleteToEnd), "delete to the end of the line", None),
    // Help
    b(X::Help, &[ESC], C::Close, "close help", Some("close")),
    b(X::Help, &[Key::ch('?'), Key::ch('q')], C::Close, "close help (once a filter is typed, they type)", None),
    b(X::Help, &[UP], C::Up, "scroll up", None),
    b(X::Help, &[DOWN], C::Down, "scroll down", None),
    b(X::Help, &[PGUP], C::PageUp, "page up", None),
    b(X::Help, &[PGDN], C::PageDown, "page down", None),
];

/// The editing operation `event` asks of a text field, if it is one of the table's editing keys.
pub fn text_op(event: &KeyEvent) -> Option<TextOp> {
    match lookup(Context::Text, event) {
        Some(Command::Text(op)) => Some(op),
        _ => None,
    }
}

/// The command `key` runs in `context`, searching its chain.
pub fn lookup(context: Context, event: &KeyEvent) -> Option<Command> {
    let key = Key::from_event(event);
    context.chain().iter().find_map(|ctx| {
        BINDINGS
            .iter()
            .find(|b| b.context == *ctx && b.keys.contains(&key))
            .map(|b| b.command)
    })
}

/// The bindings for the footer in `context`: `(keys, short label)`, most specific first, each command once,
/// only those `permissions` offer.
pub fn footer(context: Context, permissions: Permissions) -> Vec<(String, &'static str)> {
    let mut seen: Vec<Command> = Vec::new();
    let mut out = Vec::new();
    for ctx in context.chain() {
        for binding in BINDINGS
            .iter()
            .filter(|b| b.context == *ctx && permissions.offers(b.command))
        {
            if let Some(short) = binding.footer
                && !seen.contains(&binding.command)
            {
                seen.push(binding.command);
                out.push((binding.keys_label(), short));
            }
        }
    }
    out
}

/// A help section: a context's title and its `(keys, description)` rows, filtered by `query`
/// (case-insensitive, on keys or description) and by what `permissions` offer. Empty sections are left out.
pub fn help_sections(
    query: &str,
    permissions: Permissions,
) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let q = query.trim().to_lowercase();
    let order = [
        Context::Global,
        Context::List,
        Context::Namespaces,
        Context::Accounts,
        Context::Sort,
        Context::FilterInput,
        Context::Text,
        Context::Detail,
        Context::Activity,
        Context::Entry,
        Context::Roles,
        Context::Policies,
        Context::PolicyForm,
        Context::Contexts,
        Context::Palette,
        Context::Form,
        Context::Secret,
        Context::Grant,
        Context::SavePrompt,
        Context::Confirm,
        Context::Help,
    ];
    order
        .iter()
        .filter(|ctx| permissions.reaches(**ctx))
        .filter_map(|ctx| {
            let rows: Vec<(String, &'static str)> = BINDINGS
                .iter()
                .filter(|b| b.context == *ctx && permissions.offers(b.command))
                .map(|b| (b.keys_label(), b.description))
                .filter(|(keys, desc)| {
                    q.is_empty()
                        || desc.to_lowercase().contains(&q)
                        || keys.to_lowercase().contains(&q)
                        || ctx.title().to_lowercase().contains(&q)
                })
                .collect();
            (!rows.is_empty()).then_some((ctx.title(), rows))
        })
        .collect()
}

/// The whole keymap as Markdown, one section per context, for README.md (a test keeps README's copy current).
pub fn markdown() -> String {
    let mut out = String::new();
    for (title, rows) in help_sections("", Permissions::FULL) {
        out.push_str(&format!("**{title}**\n\n| keys | does |\n|---|---|\n"));
        for (keys, description) in rows {
            out.push_str(&format!(
                "| `{}` | {description} |\n",
                keys.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn specific_context_wins_and_global_is_reached() {
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for ctx in [Context::Form, Context::Accounts, Context::Help] {
            assert_eq!(lookup(ctx, &ctrl_c), Some(Command::ForceQuit));
        }
        let s = key(KeyCode::Char('s'), KeyModifiers::NONE);
        assert_eq!(lookup(Context::Accounts, &s), Some(Command::SortBy));
        assert_eq!(lookup(Context::Secret, &s), Some(Command::Save));
        assert_eq!(lookup(Context::Form, &s), None, "typed into the field");
    }

    #[test]
    fn shift_is_normalised() {
        let upper_s = key(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(
            lookup(Context::Accounts, &upper_s),
            Some(Command::SortReverse)
        );
        let back_tab = key(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(lookup(Context::Form, &back_tab), Some(Command::PrevField));
        let ctrl_upper_s = key(
            KeyCode::Char('S'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(lookup(Context::Form, &ctrl_upper_s), Some(Command::Submit));
    }

    #[test]
    fn no_key_is_bound_twice_in_one_chain() {
        for binding in BINDINGS {
            for k in binding.keys {
                let event = KeyEvent::new(k.code, k.mods);
                let hits: Vec<_> = BINDINGS
                    .iter()
                    .filter(|o| o.context == binding.context && o.keys.contains(k))
                    .collect();
                assert_eq!(
                    hits.len(),
                    1,
                    "{:?} bound twice in {:?}",
                    k,
                    binding.context
                );
                assert_eq!(
                    lookup(binding.context, &event),
                    Some(binding.command),
                    "{k:?} in {:?}",
                    binding.context
                );
            }
        }
    }

    #[test]
    fn footer_and_help_come_from_the_table() {
        let f = footer(Context::Accounts, Permissions::FULL);
        assert!(f.iter().any(|(k, s)| k == "a" && *s == "add"));
        assert!(f.iter().any(|(k, s)| k == "q" && *s == "quit"));
        let read_only = Permissions::new(true);
        let f = footer(Context::Accounts, read_only);
        assert!(
            !f.iter()
                .any(|(k, _)| ["a", "e", "r", "d"].contains(&k.as_str()))
        );
        assert!(f.iter().any(|(k, s)| k == "L" && *s == "activity"));
        let offered = help_sections("", read_only);
        assert!(offered.iter().all(|(_, rows)| {
            rows.iter()
                .all(|(k, d)| k != "a" && *d != "rotate: issue a new token" && *d != "edit")
        }));
        let sections = help_sections("rotate", Permissions::FULL);
        assert!(sections.iter().any(|(t, _)| *t == "Account list"));
        assert!(
            sections
                .iter()
                .all(|(_, rows)| rows.iter().all(|(_, d)| d.contains("rotate")))
        );
        assert!(help_sections("zzzz-nothing", Permissions::FULL).is_empty());
        assert_eq!(Key::ctrl('s').label(), "Ctrl-S");
    }
}
