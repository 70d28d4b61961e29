//! Access policies as `/verify` judges them: a policy's allowed users and e-mail domains plus its PPL document,
//! compiled once; a set of policies decides together — any deny wins, then any allow, and no allow is a deny —
//! and says which policy decided.

pub mod model;
pub mod ppl;
pub mod routing;

use chrono::{DateTime, Utc};

pub use ppl::{Outcome, Ppl, PplError, Subject};

/// One policy ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPolicy {
    pub id: String,
    pub name: String,
    /// Matched against the subject's user id and its e-mail.
    allowed_users: Vec<String>,
    /// Matched against the part of the subject's e-mail after the last `@`, ignoring case.
    allowed_domains: Vec<String>,
    ppl: Ppl,
    /// Whether judging needs the subject's e-mail or groups.
    reads_directory: bool,
}

impl CompiledPolicy {
    /// Compiles a policy; the error is the PPL document's.
    pub fn compile(
        id: &str,
        name: &str,
        allowed_users: &[String],
        allowed_domains: &[String],
        ppl: &str,
    ) -> Result<CompiledPolicy, PplError> {
        let ppl = Ppl::parse(ppl)?;
        Ok(CompiledPolicy {
            id: id.to_string(),
            name: name.to_string(),
            reads_directory: !allowed_domains.is_empty()
                || allowed_users.iter().any(|u| u.contains('@'))
                || ppl.reads_directory(),
            allowed_users: allowed_users.to_vec(),
            allowed_domains: allowed_domains.iter().map(|d| d.to_lowercase()).collect(),
            ppl,
        })
    }

    /// A policy that denies everyone (fail closed).
    pub fn deny_all(id: &str, name: &str) -> CompiledPolicy {
        CompiledPolicy {
            id: id.to_string(),
            name: name.to_string(),
            allowed_users: Vec::new(),
            allowed_domains: Vec::new(),
            ppl: Ppl::deny_all(),
            reads_directory: false,
        }
    }

    /// Whether judging needs the subject's e-mail or groups: allowed domains, an allowed user that is an e-mail
    /// (one with `@`; a subject's e-mail only counts when it has one), or a PPL `email` or `groups` criterion.
    /// When no policy of a route does, `/verify` skips the directory read.
    pub fn reads_directory(&self) -> bool {
        self.reads_directory
    }

    pub fn evaluate(&self, subject: &Subject<'_>, now: DateTime<Utc>) -> Outcome {
        let mut out = self.ppl.evaluate(subject, now);
        if !out.allow {
            let email = subject.email.filter(|e| e.contains('@'));
            let named = self
                .allowed_users
                .iter()
                .any(|u| u == subject.user_id || Some(u.as_str()) == email);
            let domain = subject
                .email
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d.to_lowercase());
            let in_domain = domain.is_some_and(|d| self.allowed_domains.contains(&d));
            out.allow = named || in_domain;
        }
        out
    }
}

/// What a set of policies concluded, and which policy decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow {
        policy: String,
    },
    Deny {
        policy: String,
    },
    /// No policy allows (or there are none): a deny with no policy to name.
    NoMatch,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The deciding policy's id.
    pub fn policy(&self) -> Option<&str> {
        match self {
            Decision::Allow { policy } | Decision::Deny { policy } => Some(policy),
            Decision::NoMatch => None,
        }
    }
}

/// Judges `subject` by every policy: the first policy that denies decides; otherwise the first that allows.
pub fn decide<'a>(
    policies: impl IntoIterator<Item = &'a CompiledPolicy>,
    subject: &Subject<'_>,
    now: DateTime<Utc>,
) -> Decision {
    let mut first_allow = None;
    for p in policies {
        let out = p.evaluate(subject, now);
        if out.deny {
            return Decision::Deny {
                policy: p.id.clone(),
            };
        }
        if out.allow && first_allow.is_none() {
            first_allow = Some(p.id.clone());
        }
    }
    match first_allow {
        Some(policy) => Decision::Allow { policy },
        None => Decision::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, users: &[&str], domains: &[&str], ppl: &str) -> CompiledPolicy {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        CompiledPolicy::compile(id, id, &v(users), &v(domains), ppl).unwrap()
    }

    fn subject<'a>(user: &'a str, email: Option<&'a str>) -> Subject<'a> {
        Subject {
            user_id: user,
            email,
            groups: &[],
        }
    }

    #[test]
    fn allowed_users_match_the_user_id_or_the_email() {
        let p = policy("p", &["svc-ci", "ann@example.com"], &[], "");
        let now = Utc::now();
        assert!(p.evaluate(&subject("svc-ci", None), now).allow);
        assert!(
            p.evaluate(&subject("u-1", Some("ann@example.com")), now)
                .allow
        );
        assert!(
            !p.evaluate(&subject("u-2", Some("bob@example.com")), now)
                .allow
        );
    }

    #[test]
    fn allowed_domains_match_the_email_domain_ignoring_case() {
        let p = policy("p", &[], &["Example.com"], "");
        let now = Utc::now();
        assert!(
            p.evaluate(&subject("u", Some("ann@EXAMPLE.com")), now)
                .allow
        );
        assert!(
            !p.evaluate(&subject("u", Some("ann@example.com.evil")), now)
                .allow
        );
        assert!(!p.evaluate(&subject("u", None), now).allow);
    }

    #[test]
    fn only_domains_emails_and_directory_criteria_need_the_directory() {
        assert!(!policy("p", &["svc-ci"], &[], "").reads_directory());
        assert!(
            !policy("p", &[], &[], r#"{"allow": {"or": [{"user": "svc"}]}}"#).reads_directory()
        );
        assert!(policy("p", &["ann@example.com"], &[], "").reads_directory());
        assert!(policy("p", &[], &["example.com"], "").reads_directory());
        assert!(
            policy(
                "p",
                &[],
                &[],
                r#"{"allow": {"or": [{"groups": {"has": "sre"}}]}}"#
            )
            .reads_directory()
        );
        assert!(
            policy(
                "p",
                &[],
                &[],
                r#"{"deny": {"or": [{"email": {"ends_with": "@x.io"}}]}}"#
            )
            .reads_directory()
        );
        assert!(!CompiledPolicy::deny_all("p", "p").reads_directory());
        // An e-mail without `@` is no e-mail: it never matches an allowed user.
        let p = policy("p", &["ann"], &[], "");
        assert!(!p.evaluate(&subject("u-1", Some("ann")), Utc::now()).allow);
    }

    #[test]
    fn deny_wins_and_no_allow_is_a_deny() {
        let now = Utc::now();
        let allow = policy("allow", &["svc"], &[], "");
        let deny = policy("deny", &[], &[], r#"{"deny": {"or": [{"user": "svc"}]}}"#);
        let other = policy("other", &["someone-else"], &[], "");
        let s = subject("svc", None);
        assert_eq!(
            decide([&allow, &deny], &s, now),
            Decision::Deny {
                policy: "deny".into()
            }
        );
        assert_eq!(
            decide([&other, &allow], &s, now),
            Decision::Allow {
                policy: "allow".into()
            }
        );
        assert_eq!(decide([&other], &s, now), Decision::NoMatch);
        assert_eq!(decide([], &s, now), Decision::NoMatch);
    }
}
