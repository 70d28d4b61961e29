//! Service-account JWTs: signing in Pomerium's claim layout, and one strict parse-and-verify of a JWT (one
//! split, one decode of header and claims, one constant-time HMAC with a key schedule made once) that refuses
//! malformed, out-of-range or ambiguous claims. The header sacon signs with is recognised as it stands, and a
//! service account's claims are read straight into their fields, so a check allocates only the two ids.

use std::borrow::Cow;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::*;

/// The claims of a service-account JWT: `jti` = account id, `sub` = user id, `iat` = `nbf` = issue time,
/// `exp` only when the account expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub jti: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

pub(super) fn sign_json(secret: &SharedSecret, claims_json: &[u8]) -> Zeroizing<String> {
    let mut message = Zeroizing::new(String::new());
    message.push_str(&URL_SAFE_NO_PAD.encode(HEADER_JSON));
    message.push('.');
    message.push_str(&URL_SAFE_NO_PAD.encode(claims_json));
    // HMAC over a key of the right size cannot fail; an empty token would be refused by every verifier.
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &secret.encoding_key(), Algorithm::HS256)
            .unwrap_or_default();
    message.push('.');
    message.push_str(&signature);
    message
}

/// Signs a service account's JWT. The caller guarantees neither id is reserved ([`is_reserved_identity`]):
/// the handlers refuse such accounts and the store cannot hold one.
pub fn sign_service_account(
    secret: &SharedSecret,
    account_id: &str,
    user_id: &str,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Zeroizing<String> {
    let claims = Claims {
        jti: account_id.to_string(),
        sub: user_id.to_string(),
        iat: issued_at.timestamp(),
        nbf: issued_at.timestamp(),
        exp: expires_at.map(|e| e.timestamp()),
    };
    sign_json(secret, &serde_json::to_vec(&claims).unwrap_or_default())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("signature does not verify with this server's shared secret")]
    BadSignature,
    #[error("algorithm {0} is not accepted (HS256 only)")]
    WrongAlgorithm(String),
    #[error("not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    #[error("expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("issued at {0}, in the future")]
    IssuedInFuture(DateTime<Utc>),
    #[error("carries the bootstrap admin identity, which no service account has")]
    ReservedIdentity,
}

/// The latest time a JWT may name (9999-12-31T23:59:59Z): larger values are attacks on date arithmetic, not
/// times, and would read as 1970 once they overflow.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Clock skew tolerated on the admin tokens' `iat`, `nbf` and `exp`; the same as `/verify`'s.
pub(super) const ADMIN_LEEWAY: Duration = Duration::seconds(5);

/// Whether `value` is, ignoring case, the bootstrap id or subject: never a service account's id or user id,
/// so that no account's token can take the bootstrap form.
pub fn is_reserved_identity(value: &str) -> bool {
    if value.is_ascii() {
        // The same answer without lowercasing a copy: both identities are ASCII.
        return value.eq_ignore_ascii_case(BOOTSTRAP_ID)
            || value.eq_ignore_ascii_case(BOOTSTRAP_SUBJECT);
    }
    let lower = value.to_lowercase();
    lower == BOOTSTRAP_ID || lower == BOOTSTRAP_SUBJECT
}

/// Verifies signature (HS256 only), claim types and `iat`/`nbf`/`exp` against `now` with `leeway`; returns the
/// claims. A service-account token has exactly `jti`, `sub`, `iat`, `nbf` and optionally `exp`, and neither id
/// is the bootstrap identity.
pub fn verify_service_account(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
    leeway: Duration,
) -> Result<Claims, TokenError> {
    let part = verified_claims_part(secret, jwt)?;
    let mut small = [0u8; 512];
    let mut large = Vec::new();
    let bytes = decode_part(part, "claims", &mut small, &mut large)?;
    let AccountClaims {
        jti,
        sub,
        iat,
        nbf,
        exp,
    } = serde_json::from_slice(bytes).map_err(|e| TokenError::Malformed(format!("claims: {e}")))?;
    let (Some(jti), Some(sub), Some(iat), Some(nbf)) = (jti, sub, iat, nbf) else {
        return Err(TokenError::Malformed(
            "claims jti, sub, iat and nbf are required".into(),
        ));
    };
    if is_reserved_identity(&jti) || is_reserved_identity(&sub) {
        return Err(TokenError::ReservedIdentity);
    }
    check_times(Some(iat), Some(nbf), exp, now, leeway)?;
    Ok(Claims {
        jti: jti.into_owned(),
        sub: sub.into_owned(),
        iat,
        nbf,
        exp,
    })
}

/// Base64url (unpadded, canonical) `part` decoded into `small` when it fits, else into `large`.
fn decode_part<'b>(
    part: &str,
    what: &str,
    small: &'b mut [u8; 512],
    large: &'b mut Vec<u8>,
) -> Result<&'b [u8], TokenError> {
    let bad = || TokenError::Malformed(format!("{what} is not base64url"));
    if part.len() / 4 * 3 + 3 <= small.len() {
        let n = URL_SAFE_NO_PAD
            .decode_slice(part, small)
            .map_err(|_| bad())?;
        return Ok(&small[..n]);
    }
    *large = URL_SAFE_NO_PAD.decode(part).map_err(|_| bad())?;
    Ok(large)
}

/// A service account's claims as the token carries them: exactly `jti`, `sub`, `iat`, `nbf` and optionally `exp`,
/// each once, the ids strings (borrowed from the decoded claims unless escaped) and the times integers in
/// `0..=MAX_TIMESTAMP`. Anything else — another claim, a repeated one, a `null`, a float — is an error.
#[derive(Default)]
struct AccountClaims<'a> {
    jti: Option<Cow<'a, str>>,
    sub: Option<Cow<'a, str>>,
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

impl<'de> Deserialize<'de> for AccountClaims<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = AccountClaims<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<AccountClaims<'de>, A::Error> {
                use serde::de::Error;
                fn once<T, E: Error>(slot: &mut Option<T>, v: T, name: &str) -> Result<(), E> {
                    match slot.replace(v) {
                        None => Ok(()),
                        Some(_) => Err(E::custom(format!("duplicate key {name:?}"))),
                    }
                }
                let mut c = AccountClaims::default();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    match &*key {
                        "jti" => once(&mut c.jti, map.next_value::<Text<'de>>()?.0, "jti")?,
                        "sub" => once(&mut c.sub, map.next_value::<Text<'de>>()?.0, "sub")?,
                        "iat" => once(&mut c.iat, map.next_value::<Seconds>()?.0, "iat")?,
                        "nbf" => once(&mut c.nbf, map.next_value::<Seconds>()?.0, "nbf")?,
                        "exp" => once(&mut c.exp, map.next_value::<Seconds>()?.0, "exp")?,
                        other => {
                            return Err(A::Error::custom(format!("unexpected claim {other:?}")));
                        }
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// An integer number of seconds in `0..=MAX_TIMESTAMP`: a float, a string, `null` or an out-of-range value is an
/// error.
struct Seconds(i64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "an integer number of seconds (0 to {MAX_TIMESTAMP})")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seconds, E> {
                i64::try_from(v)
                    .ok()
                    .filter(|s| *s <= MAX_TIMESTAMP)
                    .map(Seconds)
                    .ok_or_else(|| E::custom(format!("{v} is out of range (0 to {MAX_TIMESTAMP})")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seconds, E> {
                if (0..=MAX_TIMESTAMP).contains(&v) {
                    Ok(Seconds(v))
                } else {
                    Err(E::custom(format!(
                        "{v} is out of range (0 to {MAX_TIMESTAMP})"
                    )))
                }
            }
        }
        // Not `deserialize_i64`: that would take a float too.
        d.deserialize_any(Visitor)
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

pub(super) fn check_times(
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
    now: DateTime<Utc>,
    leeway: Duration,
) -> Result<(), TokenError> {
    if let Some(iat) = iat
        && now + leeway < at(iat)
    {
        return Err(TokenError::IssuedInFuture(at(iat)));
    }
    if let Some(nbf) = nbf
        && now + leeway < at(nbf)
    {
        return Err(TokenError::NotYetValid(at(nbf)));
    }
    if let Some(exp) = exp
        && now - leeway >= at(exp)
    {
        return Err(TokenError::Expired(at(exp)));
    }
    Ok(())
}

/// Tokens longer than this are refused unread: sacon's are a few hundred bytes, and a huge one is an attack on
/// the verifier, not a credential.
pub const MAX_TOKEN_LEN: usize = 4096;

/// A JSON object whose keys are unique: with a duplicate `jti` or `exp`, two parsers could read two different
/// tokens out of one signature.
struct UniqueObject(serde_json::Map<String, serde_json::Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueObject, A::Error> {
                let mut out = serde_json::Map::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate key {k:?}")));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueObject(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Base64url (unpadded, canonical) of a JSON object with unique keys and no `null` values: an absent claim
/// and a `null` one must not mean two different things to two readers.
fn json_object(
    part: &str,
    what: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(format!("{what} is not base64url")))?;
    let UniqueObject(object) = serde_json::from_slice(&bytes)
        .map_err(|e| TokenError::Malformed(format!("{what} is not a JSON object ({e})")))?;
    if let Some((name, _)) = object.iter().find(|(_, v)| v.is_null()) {
        return Err(TokenError::Malformed(format!(
            "{what} field {name:?} is null"
        )));
    }
    Ok(object)
}

/// The header every token sacon signs, as it appears in one: recognised as it stands instead of parsed.
static SIGNED_HEADER: LazyLock<String> = LazyLock::new(|| URL_SAFE_NO_PAD.encode(HEADER_JSON));

/// Splits the token, checks the header and the signature (constant time, over the bytes as sent) and returns the
/// claims part, still encoded: nothing of the claims is read before the signature verifies. The header must say
/// HS256, may say `typ` JWT, and must not name critical extensions (`crit`), which sacon implements none of.
fn verified_claims_part<'a>(secret: &SharedSecret, jwt: &'a str) -> Result<&'a str, TokenError> {
    if jwt.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed(format!(
            "longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "a JWT has three dot-separated parts".into(),
        ));
    };
    if header != SIGNED_HEADER.as_str() {
        check_header(header)?;
    }
    // An HS256 tag is 32 bytes: 43 characters of unpadded base64url. Anything else cannot verify.
    let mut tag = [0u8; 32];
    let tagged = signature.len() == 43
        && URL_SAFE_NO_PAD
            .decode_slice(signature, &mut tag)
            .is_ok_and(|n| n == tag.len());
    let message = &jwt[..header.len() + 1 + claims.len()];
    if !tagged || !secret.verifies(message.as_bytes(), &tag) {
        return Err(TokenError::BadSignature);
    }
    Ok(claims)
}

/// A header other than the one sacon signs with: what it may say.
fn check_header(header: &str) -> Result<(), TokenError> {
    let head = json_object(header, "header")?;
    match head.get("alg") {
        Some(serde_json::Value::String(alg)) if alg == "HS256" => {}
        Some(serde_json::Value::String(alg)) => {
            return Err(TokenError::WrongAlgorithm(alg.clone()));
        }
        Some(other) => return Err(TokenError::WrongAlgorithm(other.to_string())),
        None => return Err(TokenError::Malformed("header has no alg".into())),
    }
    if head.contains_key("crit") {
        return Err(TokenError::Malformed(
            "header names critical extensions (crit); none are supported".into(),
        ));
    }
    if let Some(typ) = head.get("typ")
        && !typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(TokenError::Malformed(format!(
            "header typ {typ} is not JWT"
        )));
    }
    Ok(())
}

/// The claims of a JWT whose header and HS256 signature have been checked, read once from the token.
pub(super) struct VerifiedClaims(serde_json::Map<String, serde_json::Value>);

impl VerifiedClaims {
    /// The claims of `jwt` once [`verified_claims_part`] has checked it.
    pub(super) fn parse(secret: &SharedSecret, jwt: &str) -> Result<VerifiedClaims, TokenError> {
        let claims = verified_claims_part(secret, jwt)?;
        Ok(VerifiedClaims(json_object(claims, "claims")?))
    }

    /// Refuses any claim not in `allowed`: each kind of token has a fixed layout, and the layouts are what tells
    /// an admin credential from an account's.
    pub(super) fn only(&self, allowed: &[&str]) -> Result<(), TokenError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(TokenError::Malformed(format!("unexpected claim {k:?}"))),
            None => Ok(()),
        }
    }

    pub(super) fn required_string(&self, name: &str) -> Result<&str, TokenError> {
        match self.0.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(_) => Err(TokenError::Malformed(format!("{name} is not a string"))),
            None => Err(TokenError::Malformed(format!("claim {name} is missing"))),
        }
    }

    /// An integer number of seconds in `0..=MAX_TIMESTAMP`; a float, string or out-of-range value is refused.
    pub(super) fn time(&self, name: &str) -> Result<Option<i64>, TokenError> {
        let Some(value) = self.0.get(name) else {
            return Ok(None);
        };
        let secs = match value {
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64(),
            _ => {
                return Err(TokenError::Malformed(format!(
                    "{name} is not an integer number of seconds"
                )));
            }
        };
        match secs.filter(|s| (0..=MAX_TIMESTAMP).contains(s)) {
            Some(s) => Ok(Some(s)),
            None => Err(TokenError::Malformed(format!(
                "{name} {value} is out of range (0 to {MAX_TIMESTAMP})"
            ))),
        }
    }

    pub(super) fn required_time(&self, name: &str) -> Result<i64, TokenError> {
        self.time(name)?
            .ok_or_else(|| TokenError::Malformed(format!("claim {name} is missing")))
    }
}

/// Decodes a JWT's header and claims without checking anything, for `token inspect`.
pub fn decode_unverified(jwt: &str) -> Result<(serde_json::Value, serde_json::Value), TokenError> {
    let mut parts = jwt.trim().split('.');
    let (Some(h), Some(c), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "a JWT has three dot-separated parts".into(),
        ));
    };
    let part = |p: &str, what: &str| -> Result<serde_json::Value, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(p.trim_end_matches('='))
            .map_err(|_| TokenError::Malformed(format!("{what} is not base64url")))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| TokenError::Malformed(format!("{what} is not JSON")))
    };
    Ok((part(h, "header")?, part(c, "claims")?))
}
