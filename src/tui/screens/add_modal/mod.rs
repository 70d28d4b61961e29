//! The add form (tabs Unique / Impersonated) and the edit form (description and expiry): fields in focus
//! order, expiry presets, the debounced lookahead search and unique-id check, and validation that keeps what was
//! typed (here); its keys and debounced requests (keys.rs); `render` draws it (render.rs).

mod keys;
mod render;

pub use keys::{on_key, on_search, on_tick, on_unique_checked};
pub use render::render;

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ratatui::style::{Modifier, Style};
use ratatui_textarea::TextArea;

use super::{field_text, set_field_focus, text_field};
use crate::api::convert::opt_ts;
use crate::api::{ConnectError, wire};
use crate::model::{DirectoryUser, Expiry, ServiceAccount, sanitize};
use crate::tui::format::fit;
use crate::tui::msg::UniqueInfo;
use crate::tui::state::Load;

/// How long typing must pause before a search or check is sent.
pub const DEBOUNCE: Duration = Duration::from_millis(120);
/// Results asked for per search.
pub const SEARCH_LIMIT: u64 = 20;
/// Results shown at most under the search field.
const RESULTS_SHOWN: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub enum FormMode {
    Create,
    Edit(Box<ServiceAccount>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Unique,
    Impersonated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Tabs,
    User,
    Description,
    Expires,
    Custom,
    Submit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryChoice {
    /// Edit only: leave the expiry as it is.
    Keep,
    Preset(Expiry),
    Custom,
}

impl ExpiryChoice {
    /// The choice as the form shows it; a preset names the moment it produces (UTC), so nobody has to count.
    fn label(self, mode: &FormMode, now: chrono::DateTime<chrono::Utc>) -> String {
        match (self, mode) {
            (ExpiryChoice::Keep, FormMode::Edit(a)) => match a.expires_at {
                Some(t) => format!("Unchanged ({})", t.format("%Y-%m-%d")),
                None => "Unchanged (never)".into(),
            },
            (ExpiryChoice::Keep, FormMode::Create) => "Unchanged".into(),
            (ExpiryChoice::Preset(Expiry::Never), _) => Expiry::Never.label(),
            (ExpiryChoice::Preset(e), _) => match e.resolve(now) {
                Ok(Some(at)) => format!("{} → {}", e.label(), at.format("%Y-%m-%d")),
                _ => e.label(),
            },
            (ExpiryChoice::Custom, _) => "Custom date (00:00 UTC)".into(),
        }
    }
}

/// A debounced request: sent once typing pauses, newest wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Debounced<T> {
    /// When to send; `None` when nothing is waiting.
    pub deadline: Option<Instant>,
    /// The request whose answer is current (0: none sent). Answers with another sequence are dropped.
    pub seq: u64,
    pub state: Load<T>,
}

impl<T> Default for Debounced<T> {
    fn default() -> Self {
        Debounced {
            deadline: None,
            seq: 0,
            state: Load::Idle,
        }
    }
}

impl<T> Debounced<T> {
    /// The input changed at `now`: restart the wait and forget the previous answer.
    pub fn touch(&mut self, now: Instant) {
        self.deadline = Some(now + DEBOUNCE);
        self.state = Load::Idle;
    }

    /// The input became empty: nothing to ask; any answer still on its way is stale.
    pub fn clear(&mut self) {
        self.deadline = None;
        self.seq = 0;
        self.state = Load::Idle;
    }

    /// True when the wait is over at `now`; the caller then sends request `seq`.
    pub fn due(&mut self, now: Instant, seq: u64) -> bool {
        match self.deadline {
            Some(d) if d <= now => {
                self.deadline = None;
                self.seq = seq;
                self.state = Load::Loading(seq);
                true
            }
            _ => false,
        }
    }

    /// Takes an answer if it belongs to the newest request. Returns false for a stale one.
    pub fn answer(&mut self, seq: u64, result: Result<T, ConnectError>) -> bool {
        if seq != self.seq || !self.state.is_loading() {
            return false;
        }
        self.state = match result {
            Ok(t) => Load::Loaded(t),
            Err(e) => Load::Failed(e),
        };
        true
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FormErrors {
    pub user: Option<String>,
    pub custom: Option<String>,
    /// From the server, or about the whole form.
    pub form: Option<String>,
}

impl FormErrors {
    pub fn any(&self) -> bool {
        self.user.is_some() || self.custom.is_some() || self.form.is_some()
    }
}

/// What a valid form sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    Create(wire::ServiceAccount),
    Update {
        account: wire::ServiceAccount,
        mask: Vec<&'static str>,
    },
}

#[derive(Debug)]
pub struct AccountForm {
    pub mode: FormMode,
    /// Where a new account goes; `None` when the server has no namespaces.
    pub namespace_id: Option<String>,
    /// The server offers directory search; without it the impersonated user id is typed.
    pub directory: bool,
    pub tab: Tab,
    pub focus: Field,
    /// The new user id (Unique).
    pub user: TextArea<'static>,
    /// The search query, or the typed user id without a directory (Impersonated).
    pub search: TextArea<'static>,
    pub description: TextArea<'static>,
    pub custom: TextArea<'static>,
    pub choices: Vec<ExpiryChoice>,
    pub choice: usize,
    pub lookahead: Debounced<(Vec<DirectoryUser>, u64)>,
    /// Highlighted search result.
    pub result_cursor: usize,
    pub picked: Option<DirectoryUser>,
    pub unique: Debounced<UniqueInfo>,
    pub errors: FormErrors,
    /// The create/update request in flight.
    pub submitting: Option<u64>,
}

fn field(placeholder: &str) -> TextArea<'static> {
    let mut ta = text_field("");
    ta.set_placeholder_text(placeholder);
    ta.set_style(Style::new().add_modifier(Modifier::UNDERLINED));
    ta
}

impl AccountForm {
    pub fn create(namespace_id: Option<String>, directory: bool) -> AccountForm {
        let mut choices: Vec<ExpiryChoice> = Expiry::PRESETS
            .iter()
            .map(|e| ExpiryChoice::Preset(*e))
            .collect();
        choices.push(ExpiryChoice::Custom);
        let mut form = AccountForm {
            mode: FormMode::Create,
            namespace_id,
            directory,
            tab: Tab::Unique,
            focus: Field::User,
            user: field("new user id, e.g. ci-deploy"),
            search: field(if directory {
                "type part of a name, e-mail or id"
            } else {
                "directory user id"
            }),
            description: field("what it is for"),
            custom: field("YYYY-MM-DD"),
            // 90 days: a bounded lifetime unless the admin chooses otherwise.
            choice: 3,
            choices,
            lookahead: Debounced::default(),
            result_cursor: 0,
            picked: None,
            unique: Debounced::default(),
            errors: FormErrors::default(),
            submitting: None,
        };
        form.sync_focus();
        form
    }

    pub fn edit(account: ServiceAccount) -> AccountForm {
        let mut form = AccountForm::create(Some(account.namespace_id.clone()), false);
        form.description = field("what it is for");
        super::set_field_text(&mut form.description, &sanitize(&account.description));
        form.choices.insert(0, ExpiryChoice::Keep);
        form.choice = 0;
        form.focus = Field::Description;
        form.mode = FormMode::Edit(Box::new(account));
        form.sync_focus();
        form
    }

    pub fn is_edit(&self) -> bool {
        matches!(self.mode, FormMode::Edit(_))
    }

    /// Fields in focus order.
    /// For an edit, what the chosen expiry does to the live token: `Some(true)` when it is later than the
    /// current one (or none): the old token carries its own `exp`, so a new token is needed, shown once on save;
    /// `Some(false)` when it is earlier: the record holds every token to it. `None`: unchanged.
    pub fn token_note(&self, now: DateTime<Utc>) -> Option<bool> {
        let FormMode::Edit(a) = &self.mode else {
            return None;
        };
        let new = match self.choices.get(self.choice)? {
            ExpiryChoice::Keep => return None,
            ExpiryChoice::Preset(e) => e.resolve(now).ok()?,
            ExpiryChoice::Custom => Expiry::parse(field_text(&self.custom).trim())
                .ok()?
                .resolve(now)
                .ok()?,
        };
        match (new, a.expires_at) {
            (None, Some(_)) => Some(true),
            (Some(_), None) => Some(false),
            (Some(n), Some(o)) if n > o => Some(true),
            (Some(n), Some(o)) if n < o => Some(false),
            _ => None,
        }
    }

    pub fn fields(&self) -> Vec<Field> {
        let mut out = Vec::new();
        if !self.is_edit() {
            out.push(Field::Tabs);
            out.push(Field::User);
        }
        out.push(Field::Description);
        out.push(Field::Expires);
        if self.choices.get(self.choice) == Some(&ExpiryChoice::Custom) {
            out.push(Field::Custom);
        }
        out.push(Field::Submit);
        out
    }

    pub fn focus_step(&mut self, forward: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = fields.len();
        let j = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.focus = fields[j];
        self.sync_focus();
    }

    pub fn focus_on(&mut self, f: Field) {
        if self.fields().contains(&f) {
            self.focus = f;
            self.sync_focus();
        }
    }

    /// Shows the cursor in the focused text field only.
    pub fn sync_focus(&mut self) {
        let f = self.focus;
        let tab = self.tab;
        set_field_focus(&mut self.user, f == Field::User && tab == Tab::Unique);
        set_field_focus(
            &mut self.search,
            f == Field::User && tab == Tab::Impersonated,
        );
        set_field_focus(&mut self.description, f == Field::Description);
        set_field_focus(&mut self.custom, f == Field::Custom);
    }

    pub fn switch_tab(&mut self) {
        if self.is_edit() {
            return;
        }
        self.tab = match self.tab {
            Tab::Unique => Tab::Impersonated,
            Tab::Impersonated => Tab::Unique,
        };
        self.errors.user = None;
        self.errors.form = None;
        self.sync_focus();
    }

    /// Steps through the expiry choices.
    pub fn step_choice(&mut self, forward: bool) {
        let n = self.choices.len();
        self.choice = if forward {
            (self.choice + 1) % n
        } else {
            (self.choice + n - 1) % n
        };
        self.errors.custom = None;
    }

    /// The field the keyboard types into, if the focus is on one.
    pub fn text_mut(&mut self) -> Option<&mut TextArea<'static>> {
        match (self.focus, self.tab) {
            (Field::User, Tab::Unique) => Some(&mut self.user),
            (Field::User, Tab::Impersonated) => Some(&mut self.search),
            (Field::Description, _) => Some(&mut self.description),
            (Field::Custom, _) => Some(&mut self.custom),
            _ => None,
        }
    }

    /// The focused field's text changed at `now`: restart the debounce of the search or check.
    pub fn text_changed(&mut self, now: Instant) {
        match (self.focus, self.tab) {
            (Field::User, Tab::Unique) => {
                self.errors.user = None;
                if field_text(&self.user).trim().is_empty() {
                    self.unique.clear();
                } else {
                    self.unique.touch(now);
                }
            }
            (Field::User, Tab::Impersonated) => {
                self.errors.user = None;
                self.picked = None;
                self.result_cursor = 0;
                if !self.directory || field_text(&self.search).trim().is_empty() {
                    self.lookahead.clear();
                } else {
                    self.lookahead.touch(now);
                }
            }
            (Field::Custom, _) => self.errors.custom = None,
            _ => {}
        }
    }

    pub fn results(&self) -> &[DirectoryUser] {
        match &self.lookahead.state {
            Load::Loaded((users, _)) => users,
            _ => &[],
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.lookahead.deadline, self.unique.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Picks the highlighted search result.
    pub fn pick(&mut self) -> bool {
        let Some(user) = self.results().get(self.result_cursor).cloned() else {
            return false;
        };
        self.picked = Some(user);
        self.errors.user = None;
        true
    }

    /// Checks every field; on success returns what to send, otherwise records errors by field (keeping what
    /// was typed) and moves the focus to the first bad field.
    /// What is wrong with the typed unique user ID as it stands, before any server check: the hint shows it
    /// instead of a "new user ID" that submit would refuse.
    pub fn unique_id_problem(&self) -> Option<&'static str> {
        let id = field_text(&self.user);
        let id = id.trim();
        if id.is_empty() {
            None
        } else if id.chars().any(char::is_whitespace) {
            Some("A user ID has no spaces.")
        } else if id.chars().count() > 256 {
            Some("A user ID has at most 256 characters.")
        } else {
            None
        }
    }

    pub fn validate(&mut self, now: DateTime<Utc>) -> Option<Submission> {
        self.errors = FormErrors::default();
        let mut first_bad = None;
        let user_id = if self.is_edit() {
            None
        } else {
            match self.tab {
                Tab::Unique => {
                    let id = field_text(&self.user).trim().to_string();
                    if id.is_empty() {
                        self.errors.user = Some("Enter a user ID.".into());
                    } else if id.chars().any(char::is_whitespace) {
                        self.errors.user = Some("A user ID has no spaces.".into());
                    } else if id.chars().count() > 256 {
                        self.errors.user = Some("A user ID has at most 256 characters.".into());
                    }
                    Some(id)
                }
                Tab::Impersonated if self.directory => match &self.picked {
                    Some(u) => Some(u.id.clone()),
                    None => {
                        self.errors.user = Some(
                            "Pick a directory user: type part of a name, then ↓ and Enter.".into(),
                        );
                        None
                    }
                },
                Tab::Impersonated => {
                    let id = field_text(&self.search).trim().to_string();
                    if id.is_empty() {
                        self.errors.user = Some("Enter the directory user's ID.".into());
                    }
                    Some(id)
                }
            }
        };
        if self.errors.user.is_some() {
            first_bad.get_or_insert(Field::User);
        }
        let description = field_text(&self.description).trim().to_string();
        if description.chars().count() > 1000 {
            self.errors.form = Some("The description has at most 1000 characters.".into());
            first_bad.get_or_insert(Field::Description);
        }
        let expiry: Option<Option<DateTime<Utc>>> = match self.choices.get(self.choice) {
            Some(ExpiryChoice::Keep) | None => None,
            Some(ExpiryChoice::Preset(e)) => Some(e.resolve(now).unwrap_or(None)),
            Some(ExpiryChoice::Custom) => {
                let text = field_text(&self.custom);
                match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                    Err(_) => {
                        self.errors.custom = Some(format!(
                            "“{}” is not a date like 2027-01-31.",
                            fit(&sanitize(text.trim()), 20)
                        ));
                        None
                    }
                    Ok(d) => {
                        let at = d.and_hms_opt(0, 0, 0).map(|t| Utc.from_utc_datetime(&t));
                        match at {
                            Some(at) if at > now => Some(Some(at)),
                            _ => {
                                self.errors.custom = Some(format!("{d} is not in the future."));
                                None
                            }
                        }
                    }
                }
            }
        };
        if self.errors.custom.is_some() {
            first_bad.get_or_insert(Field::Custom);
        }
        if let Some(f) = first_bad {
            self.focus_on(f);
            return None;
        }
        match &self.mode {
            FormMode::Create => Some(Submission::Create(wire::ServiceAccount {
                namespace_id: self.namespace_id.clone(),
                user_id: user_id.filter(|u| !u.is_empty()),
                description: Some(description),
                expires_at: expiry.and_then(opt_ts),
                ..Default::default()
            })),
            FormMode::Edit(account) => {
                let mut mask = vec!["description"];
                let mut wire_account = wire::ServiceAccount {
                    id: Some(account.id.clone()),
                    description: Some(description),
                    ..Default::default()
                };
                if let Some(e) = expiry {
                    mask.push("expires_at");
                    wire_account.expires_at = opt_ts(e);
                }
                Some(Submission::Update {
                    account: wire_account,
                    mask,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debounce_newest_wins() {
        let t0 = Instant::now();
        let mut d: Debounced<u32> = Debounced::default();
        d.touch(t0);
        assert!(!d.due(t0 + Duration::from_millis(119), 1));
        d.touch(t0 + Duration::from_millis(100));
        assert!(!d.due(t0 + Duration::from_millis(200), 2));
        assert!(d.due(t0 + Duration::from_millis(220), 3));
        assert!(!d.answer(2, Ok(7)), "an older request");
        assert!(d.answer(3, Ok(9)));
        assert_eq!(d.state, Load::Loaded(9));
        assert!(!d.answer(3, Ok(1)), "answered already");
    }
}
