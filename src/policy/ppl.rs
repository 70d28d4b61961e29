//! Pomerium Policy Language, the subset service accounts need: a document (JSON, or YAML) of `allow`/`deny` rules
//! whose `and`/`or`/`not`/`nor` blocks hold the criteria `accept`, `reject`, `user` (`is`), `email` (`is`,
//! `ends_with`), `groups` (`has`), `date` (`after`, `before`) and `time_of_day` (`after`, `before`, UTC). It is
//! compiled once and evaluated for a subject at a time; anything outside the subset is refused with an error
//! naming it, never ignored. As in Pomerium: `not` holds when none of its criteria do, `nor` when at least one
//! does not, and the blocks of one rule (and the rules of one action) are alternatives.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::{Map, Value};

/// Why a document does not compile; the message names the rule, operator or criterion at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PplError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, PplError> {
    Err(PplError(message.into()))
}

/// Who a policy is judged for: a service account's user id and, for an impersonated account, the directory
/// user's e-mail and groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub email: Option<&'a str>,
    pub groups: &'a [String],
}

/// What a document says about a subject: whether some allow rule matched and whether some deny rule did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub allow: bool,
    pub deny: bool,
}

/// A compiled document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ppl {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    action: Action,
    blocks: Vec<Block>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Not,
    Nor,
}

#[derive(Debug, Clone, PartialEq)]
struct Block {
    op: Op,
    criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq)]
enum Criterion {
    Accept,
    Reject,
    User(Vec<StrOp>),
    Email(Vec<StrOp>),
    GroupsHas(String),
    Date {
        after: Option<DateTime<Utc>>,
        before: Option<DateTime<Utc>>,
    },
    TimeOfDay {
        after: Option<NaiveTime>,
        before: Option<NaiveTime>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StrOp {
    Is(String),
    EndsWith(String),
}

/// The criteria sacon knows, for error messages.
const CRITERIA: &str = "accept, reject, user, email, groups, date, time_of_day";

impl Ppl {
    /// Parses and compiles a document. Text starting with `{` or `[` is JSON; anything else is YAML. Empty text is
    /// a document without rules.
    pub fn parse(text: &str) -> Result<Ppl, PplError> {
        let trimmed = text.trim_start();
        if trimmed.trim_end().is_empty() {
            return Ok(Ppl::default());
        }
        let value: Value = if trimmed.starts_with('{') || trimmed.starts_with('[') {
            serde_json::from_str(text)
                .map_err(|e| PplError(format!("PPL is not valid JSON: {e}")))?
        } else {
            serde_norway::from_str(text)
                .map_err(|e| PplError(format!("PPL is not valid YAML: {e}")))?
        };
        Ppl::from_value(&value)
    }

    /// Compiles a parsed document: one rule object, or an array of them.
    pub fn from_value(value: &Value) -> Result<Ppl, PplError> {
        let mut rules = Vec::new();
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let Value::Object(o) = item else {
                        return err(format!(
                            "PPL rule {} must be an object with allow or deny",
                            i + 1
                        ));
                    };
                    rules_from_object(o, &mut rules)?;
                }
            }
            Value::Object(o) => rules_from_object(o, &mut rules)?,
            Value::Null => {}
            _ => return err("PPL must be an object with allow or deny, or an array of them"),
        }
        Ok(Ppl { rules })
    }

    /// A document that denies everyone: what a stored policy that no longer compiles stands for.
    pub fn deny_all() -> Ppl {
        Ppl {
            rules: vec![Rule {
                action: Action::Deny,
                blocks: vec![Block {
                    op: Op::Or,
                    criteria: vec![Criterion::Accept],
                }],
            }],
        }
    }

    /// Whether the document has no rules (it then neither allows nor denies anything).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether judging needs the subject's e-mail or groups (a directory read), or only its user id and the time.
    pub fn reads_directory(&self) -> bool {
        self.rules.iter().flat_map(|r| &r.blocks).any(|b| {
            b.criteria
                .iter()
                .any(|c| matches!(c, Criterion::Email(_) | Criterion::GroupsHas(_)))
        })
    }

    /// Judges `subject` at `now`.
    pub fn evaluate(&self, subject: &Subject<'_>, now: DateTime<Utc>) -> Outcome {
        let mut out = Outcome::default();
        for rule in &self.rules {
            let hit = match rule.action {
                Action::Allow if out.allow => continue,
                Action::Deny if out.deny => continue,
                _ => rule.blocks.iter().any(|b| b.holds(subject, now)),
            };
            match rule.action {
                Action::Allow => out.allow |= hit,
                Action::Deny => out.deny |= hit,
            }
        }
        out
    }
}

fn rules_from_object(o: &Map<String, Value>, rules: &mut Vec<Rule>) -> Result<(), PplError> {
    if o.is_empty() {
        return err("a PPL rule must name allow or deny");
    }
    for (key, body) in o {
        let action = match key.as_str() {
            "allow" => Action::Allow,
            "deny" => Action::Deny,
            other => {
                return err(format!(
                    "unsupported PPL action {other:?}: only allow and deny are supported"
                ));
            }
        };
        let Value::Object(body) = body else {
            return err(format!(
                "{key} must be an object of and, or, not or nor blocks"
            ));
        };
        let mut blocks = Vec::new();
        for (op_name, criteria) in body {
            let op = match op_name.as_str() {
                "and" => Op::And,
                "or" => Op::Or,
                "not" => Op::Not,
                "nor" => Op::Nor,
                other => {
                    return err(format!(
                        "unsupported PPL operator {other:?} in {key}: only and, or, not and nor are supported"
                    ));
                }
            };
            let Value::Array(items) = criteria else {
                return err(format!("{key}.{op_name} must be an array of criteria"));
            };
            let criteria = items
                .iter()
                .map(|c| criterion(c).map_err(|e| PplError(format!("{key}.{op_name}: {}", e.0))))
                .collect::<Result<Vec<_>, _>>()?;
            // An empty block says nothing, as in Pomerium.
            if !criteria.is_empty() {
                blocks.push(Block { op, criteria });
            }
        }
        rules.push(Rule { action, blocks });
    }
    Ok(())
}

fn criterion(value: &Value) -> Result<Criterion, PplError> {
    let Value::Object(o) = value else {
        return err("each criterion must be an object with one key, the criterion's name");
    };
    let mut entries = o.iter();
    let (Some((key, data)), None) = (entries.next(), entries.next()) else {
        return err("each criterion must have exactly one key, the criterion's name");
    };
    let (name, sub_path) = match key.split_once('/') {
        Some((n, s)) => (n, Some(s)),
        None => (key.as_str(), None),
    };
    let known = matches!(
        name,
        "accept" | "reject" | "user" | "email" | "groups" | "date" | "time_of_day"
    );
    if !known {
        return err(format!(
            "unknown PPL criterion {name:?}: sacon supports {CRITERIA}"
        ));
    }
    if let Some(sub) = sub_path {
        return err(format!(
            "criterion {name} takes no sub-path (got {name}/{sub})"
        ));
    }
    match name {
        "accept" | "reject" => {
            if data != &Value::Bool(true) {
                return err(format!("criterion {name} takes the value true"));
            }
            Ok(if name == "accept" {
                Criterion::Accept
            } else {
                Criterion::Reject
            })
        }
        "user" => Ok(Criterion::User(string_matcher(name, data, &["is"])?)),
        "email" => Ok(Criterion::Email(string_matcher(
            name,
            data,
            &["is", "ends_with"],
        )?)),
        "groups" => groups(data),
        "date" => date(data),
        _ => time_of_day(data),
    }
}

fn string_arg(criterion: &str, op: &str, v: &Value) -> Result<String, PplError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => err(format!("{criterion}.{op} must be a string")),
    }
}

/// A bare string means `is`; an object's operators must all hold.
fn string_matcher(criterion: &str, data: &Value, ops: &[&str]) -> Result<Vec<StrOp>, PplError> {
    let obj = match data {
        Value::String(s) => return Ok(vec![StrOp::Is(s.clone())]),
        Value::Object(o) if !o.is_empty() => o,
        _ => {
            return err(format!(
                "criterion {criterion} takes a string or an object of {}",
                ops.join(", ")
            ));
        }
    };
    obj.iter()
        .map(|(op, v)| {
            if !ops.contains(&op.as_str()) {
                return err(format!(
                    "unsupported operator {op:?} for criterion {criterion}: sacon supports {}",
                    ops.join(", ")
                ));
            }
            let arg = string_arg(criterion, op, v)?;
            Ok(match op.as_str() {
                "is" => StrOp::Is(arg),
                _ => StrOp::EndsWith(arg),
            })
        })
        .collect()
}

fn groups(data: &Value) -> Result<Criterion, PplError> {
    match data {
        Value::String(s) => Ok(Criterion::GroupsHas(s.clone())),
        Value::Object(o) => {
            let mut entries = o.iter();
            match (entries.next(), entries.next()) {
                (Some((op, v)), None) if op == "has" => {
                    Ok(Criterion::GroupsHas(string_arg("groups", op, v)?))
                }
                (Some((op, _)), None) if op != "has" => err(format!(
                    "unsupported operator {op:?} for criterion groups: sacon supports has"
                )),
                _ => err("criterion groups takes a string or an object with has"),
            }
        }
        _ => err("criterion groups takes a string or an object with has"),
    }
}

/// The `after`/`before` bounds of a window criterion, parsed by `parse`; at least one is required.
fn window<T>(
    criterion: &str,
    data: &Value,
    extra: &[&str],
    parse: impl Fn(&str) -> Option<T>,
    form: &str,
) -> Result<(Option<T>, Option<T>), PplError> {
    let Value::Object(o) = data else {
        return err(format!(
            "criterion {criterion} takes an object with after and/or before"
        ));
    };
    let (mut after, mut before) = (None, None);
    for (op, v) in o {
        let slot = match op.as_str() {
            "after" => &mut after,
            "before" => &mut before,
            other if extra.contains(&other) => continue,
            other => {
                let mut ops = vec!["after", "before"];
                ops.extend(extra);
                return err(format!(
                    "unsupported operator {other:?} for criterion {criterion}: sacon supports {}",
                    ops.join(", ")
                ));
            }
        };
        let text = string_arg(criterion, op, v)?;
        *slot = Some(
            parse(&text)
                .ok_or_else(|| PplError(format!("{criterion}.{op} {text:?} is not {form}")))?,
        );
    }
    if after.is_none() && before.is_none() {
        return err(format!("criterion {criterion} needs after or before"));
    }
    Ok((after, before))
}

fn date(data: &Value) -> Result<Criterion, PplError> {
    let parse = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let (after, before) = window("date", data, &[], parse, "an RFC 3339 time")?;
    Ok(Criterion::Date { after, before })
}

fn time_of_day(data: &Value) -> Result<Criterion, PplError> {
    if let Value::Object(o) = data
        && let Some(tz) = o.get("timezone")
    {
        let ok = matches!(tz.as_str(), Some("UTC" | "Etc/UTC" | "Z"));
        if !ok {
            return err(format!(
                "time_of_day.timezone {tz}: sacon evaluates times of day in UTC only"
            ));
        }
    }
    let parse = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
            .ok()
    };
    let (after, before) = window(
        "time_of_day",
        data,
        &["timezone"],
        parse,
        "HH:MM or HH:MM:SS",
    )?;
    Ok(Criterion::TimeOfDay { after, before })
}

impl Block {
    fn holds(&self, subject: &Subject<'_>, now: DateTime<Utc>) -> bool {
        let mut each = self.criteria.iter().map(|c| c.holds(subject, now));
        match self.op {
            Op::And => each.all(|v| v),
            Op::Or => each.any(|v| v),
            Op::Not => each.all(|v| !v),
            Op::Nor => each.any(|v| !v),
        }
    }
}

impl StrOp {
    fn holds(&self, value: &str) -> bool {
        match self {
            StrOp::Is(s) => value == s,
            StrOp::EndsWith(s) => value.ends_with(s.as_str()),
        }
    }
}

impl Criterion {
    fn holds(&self, subject: &Subject<'_>, now: DateTime<Utc>) -> bool {
        match self {
            Criterion::Accept => true,
            Criterion::Reject => false,
            Criterion::User(ops) => ops.iter().all(|op| op.holds(subject.user_id)),
            // No e-mail (a unique account) matches no e-mail condition.
            Criterion::Email(ops) => subject
                .email
                .is_some_and(|e| ops.iter().all(|op| op.holds(e))),
            Criterion::GroupsHas(g) => subject.groups.iter().any(|have| have == g),
            Criterion::Date { after, before } => {
                after.is_none_or(|a| now >= a) && before.is_none_or(|b| now < b)
            }
            Criterion::TimeOfDay { after, before } => {
                let t = now.time();
                match (after, before) {
                    // A window across midnight (22:00 to 06:00) holds on either side of it.
                    (Some(a), Some(b)) if a > b => t >= *a || t < *b,
                    _ => after.is_none_or(|a| t >= a) && before.is_none_or(|b| t < b),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-03-10T12:00:00Z";

    fn now() -> DateTime<Utc> {
        NOW.parse().unwrap()
    }

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    fn judge(doc: &str, user: &str, email: Option<&str>, g: &[&str]) -> Outcome {
        let groups = groups(g);
        let subject = Subject {
            user_id: user,
            email,
            groups: &groups,
        };
        Ppl::parse(doc)
            .unwrap_or_else(|e| panic!("{doc}: {e}"))
            .evaluate(&subject, now())
    }

    fn allows(doc: &str, user: &str) -> bool {
        judge(doc, user, Some("ci@example.com"), &["deployers"]).allow
    }

    fn refusal(doc: &str) -> String {
        Ppl::parse(doc).unwrap_err().0
    }

    #[test]
    fn user_is() {
        let doc = r#"{"allow": {"or": [{"user": {"is": "svc-ci"}}]}}"#;
        assert!(allows(doc, "svc-ci"));
        assert!(!allows(doc, "svc-other"));
        // A bare string means `is`.
        assert!(allows(
            r#"{"allow": {"or": [{"user": "svc-ci"}]}}"#,
            "svc-ci"
        ));
    }

    #[test]
    fn email_is_and_ends_with() {
        let is = r#"{"allow": {"and": [{"email": {"is": "ci@example.com"}}]}}"#;
        assert!(judge(is, "u", Some("ci@example.com"), &[]).allow);
        assert!(!judge(is, "u", Some("cd@example.com"), &[]).allow);
        let ends = r#"{"allow": {"and": [{"email": {"ends_with": "@example.com"}}]}}"#;
        assert!(judge(ends, "u", Some("cd@example.com"), &[]).allow);
        assert!(!judge(ends, "u", Some("cd@example.org"), &[]).allow);
        // A unique account has no e-mail, so no e-mail condition holds for it.
        assert!(!judge(ends, "u", None, &[]).allow);
        // Both operators in one object must hold.
        let both = r#"{"allow": {"and": [{"email": {"is": "a@x.io", "ends_with": "@y.io"}}]}}"#;
        assert!(!judge(both, "u", Some("a@x.io"), &[]).allow);
    }

    #[test]
    fn groups_has() {
        let doc = r#"{"allow": {"and": [{"groups": {"has": "deployers"}}]}}"#;
        assert!(judge(doc, "u", None, &["sre", "deployers"]).allow);
        assert!(!judge(doc, "u", None, &["sre"]).allow);
        assert!(
            judge(
                r#"{"allow": {"and": [{"groups": "sre"}]}}"#,
                "u",
                None,
                &["sre"]
            )
            .allow
        );
    }

    #[test]
    fn accept_and_reject() {
        assert!(allows(
            r#"{"allow": {"and": [{"accept": true}]}}"#,
            "anyone"
        ));
        assert!(!allows(
            r#"{"allow": {"and": [{"reject": true}]}}"#,
            "anyone"
        ));
        let deny = judge(r#"{"deny": {"or": [{"accept": true}]}}"#, "u", None, &[]);
        assert_eq!(
            deny,
            Outcome {
                allow: false,
                deny: true
            }
        );
        assert!(refusal(r#"{"allow": {"and": [{"accept": false}]}}"#).contains("true"));
    }

    #[test]
    fn operators() {
        let (a, r) = (r#"{"accept": true}"#, r#"{"reject": true}"#);
        let doc =
            |op: &str, items: &[&str]| format!(r#"{{"allow": {{"{op}": [{}]}}}}"#, items.join(","));
        let cases = [
            ("and", vec![a, a], true),
            ("and", vec![a, r], false),
            ("or", vec![r, a], true),
            ("or", vec![r, r], false),
            // `not`: none holds; `nor`: at least one does not.
            ("not", vec![r, r], true),
            ("not", vec![r, a], false),
            ("nor", vec![a, r], true),
            ("nor", vec![a, a], false),
        ];
        for (op, items, want) in cases {
            assert_eq!(allows(&doc(op, &items), "u"), want, "{op} {items:?}");
        }
    }

    #[test]
    fn blocks_and_rules_are_alternatives() {
        let doc = r#"{"allow": {"and": [{"reject": true}], "or": [{"user": "svc"}]}}"#;
        assert!(allows(doc, "svc"));
        assert!(!allows(doc, "other"));
        let rules = r#"[{"allow": {"and": [{"user": "a"}]}}, {"allow": {"and": [{"user": "b"}]}}]"#;
        assert!(allows(rules, "a") && allows(rules, "b") && !allows(rules, "c"));
    }

    #[test]
    fn allow_and_deny_are_reported_apart() {
        let doc = r#"{"allow": {"or": [{"groups": "deployers"}]}, "deny": {"or": [{"user": "svc-bad"}]}}"#;
        let out = judge(doc, "svc-bad", None, &["deployers"]);
        assert_eq!(
            out,
            Outcome {
                allow: true,
                deny: true
            }
        );
        let out = judge(doc, "svc-good", None, &["deployers"]);
        assert_eq!(
            out,
            Outcome {
                allow: true,
                deny: false
            }
        );
        assert_eq!(judge("", "u", None, &[]), Outcome::default());
    }

    #[test]
    fn yaml_form() {
        let doc = "allow:\n  or:\n    - email:\n        ends_with: \"@example.com\"\n    - user:\n        is: svc-ci\n";
        assert!(judge(doc, "svc-ci", None, &[]).allow);
        assert!(judge(doc, "x", Some("y@example.com"), &[]).allow);
        assert!(!judge(doc, "x", None, &[]).allow);
        let list = "- deny:\n    and:\n      - user: svc-bad\n";
        assert!(judge(list, "svc-bad", None, &[]).deny);
    }

    #[test]
    fn date_and_time_of_day() {
        let date = |after: &str, before: &str| {
            format!(
                r#"{{"allow": {{"and": [{{"date": {{"after": "{after}", "before": "{before}"}}}}]}}}}"#
            )
        };
        assert!(allows(
            &date("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
            "u"
        ));
        assert!(!allows(
            &date("2026-04-01T00:00:00Z", "2027-01-01T00:00:00Z"),
            "u"
        ));
        assert!(!allows(
            &date("2025-01-01T00:00:00Z", "2026-03-10T11:59:59Z"),
            "u"
        ));
        let tod = |after: &str, before: &str| {
            format!(
                r#"{{"allow": {{"and": [{{"time_of_day": {{"timezone": "UTC", "after": "{after}", "before": "{before}"}}}}]}}}}"#
            )
        };
        assert!(allows(&tod("09:00", "17:00"), "u"));
        assert!(!allows(&tod("13:00", "17:00"), "u"));
        // Across midnight.
        assert!(allows(&tod("11:00", "01:00"), "u"));
        assert!(!allows(&tod("22:00", "06:00"), "u"));
        let zoned = r#"{"allow": {"and": [{"time_of_day": {"timezone": "Europe/Paris", "after": "09:00"}}]}}"#;
        assert!(refusal(zoned).contains("UTC only"));
        assert!(
            refusal(r#"{"allow": {"and": [{"date": {"after": "tomorrow"}}]}}"#)
                .contains("RFC 3339")
        );
    }

    #[test]
    fn anything_outside_the_subset_is_refused_by_name() {
        let cases = [
            (
                r#"{"allow": {"and": [{"claim/family_name": "x"}]}}"#,
                "\"claim\"",
            ),
            (
                r#"{"allow": {"and": [{"http_method": {"is": "GET"}}]}}"#,
                "\"http_method\"",
            ),
            (
                r#"{"allow": {"and": [{"email": {"contains": "x"}}]}}"#,
                "\"contains\"",
            ),
            (
                r#"{"allow": {"and": [{"user": {"starts_with": "svc"}}]}}"#,
                "\"starts_with\"",
            ),
            (
                r#"{"allow": {"and": [{"groups": {"exclude": "x"}}]}}"#,
                "\"exclude\"",
            ),
            (r#"{"allow": {"xor": []}}"#, "\"xor\""),
            (r#"{"permit": {"and": []}}"#, "\"permit\""),
            (
                r#"{"allow": {"and": [{"user": "a", "email": "b"}]}}"#,
                "exactly one key",
            ),
            (r#"{"allow": {"and": [{"user/x": "a"}]}}"#, "sub-path"),
            (r#"{"allow": {"and": [{"user": {"is": 7}}]}}"#, "string"),
            (r#"{"allow": {"and": {"user": "a"}}}"#, "array"),
            (r#"{"allow": {"and": ["#, "JSON"),
            ("allow: [unclosed", "YAML"),
            ("42", "object"),
        ];
        for (doc, named) in cases {
            let e = refusal(doc);
            assert!(e.contains(named), "{doc}: {e:?} should name {named}");
        }
    }
}
