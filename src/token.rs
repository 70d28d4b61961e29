//! The shared secret (32 random bytes, base64 in a 0600 file), HS256 service-account JWTs in Pomerium's claim
//! layout, the admin credentials made from the secret, and the three header forms a client presents a token in.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The `jti` of the bootstrap admin JWT that Pomerium's own SDK sends; never a service account's id.
pub const BOOTSTRAP_ID: &str = "014e587b-3f4b-4fcf-90a9-f6ecdf8154af";
/// The `sub` of the bootstrap admin JWT that Pomerium's own SDK sends; never a service account's user id.
pub const BOOTSTRAP_SUBJECT: &str = "bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium";
/// The exact JOSE header of every token sacon signs.
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// How long a credential sacon makes from the shared secret stays valid.
const ADMIN_TOKEN_LIFETIME: Duration = Duration::minutes(5);
/// How long after its `iat` a bootstrap token without `exp` (the form Pomerium's SDK and terraform provider send)
/// is accepted: long enough for a provider run that signs once, short enough that a leaked one dies.
pub const BOOTSTRAP_MAX_AGE: Duration = Duration::hours(24);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("shared secret in {path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("shared secret file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The server's 32-byte HS256 key; zeroized on drop, never printed by `Debug`.
#[derive(Clone)]
pub struct SharedSecret(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(…)")
    }
}

impl SharedSecret {
    pub fn generate() -> SharedSecret {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())
            .expect("the operating system's random source is unavailable");
        SharedSecret(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> SharedSecret {
        SharedSecret(Zeroizing::new(bytes))
    }

    /// Standard base64 of exactly 32 bytes (surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<SharedSecret, String> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|e| format!("not standard base64 ({e})"))?,
        );
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "decodes to {} bytes; exactly 32 bytes are required",
                decoded.len()
            )
        })?;
        Ok(SharedSecret::from_bytes(bytes))
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn load(path: &Path) -> Result<SharedSecret, SecretError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| SecretError::Io {
                    path: path.display().to_string(),
                    source,
                })?,
            );
        SharedSecret::from_base64(&text).map_err(|reason| SecretError::Invalid {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Loads the secret at `path`, or creates it (one base64 line, mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<SharedSecret, SecretError> {
        if path.exists() {
            return SharedSecret::load(path);
        }
        let secret = SharedSecret::generate();
        let io = |source| SecretError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut line = secret.to_base64();
        line.push('\n');
        write_private_file(path, line.as_bytes()).map_err(io)?;
        Ok(secret)
    }

    fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_secret(self.0.as_ref())
    }

    fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_secret(self.0.as_ref())
    }
}

/// Creates `path` with mode 0600 and `contents`, failing if it exists; written to a temporary file in the
/// same directory first and renamed into place, so a crash never leaves half a file.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        // A hard link fails if `path` exists, so a file created meanwhile is never replaced.
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

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

fn sign_json(secret: &SharedSecret, claims_json: &[u8]) -> Zeroizing<String> {
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
const ADMIN_LEEWAY: Duration = Duration::seconds(5);

/// Whether `value` is, ignoring case, the bootstrap id or subject: never a service account's id or user id,
/// so that no account's token can take the bootstrap form.
pub fn is_reserved_identity(value: &str) -> bool {
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
    let claims = VerifiedClaims::parse(secret, jwt)?;
    claims.only(&["jti", "sub", "iat", "nbf", "exp"])?;
    let jti = claims.required_string("jti")?;
    let sub = claims.required_string("sub")?;
    let iat = claims.required_time("iat")?;
    let nbf = claims.required_time("nbf")?;
    let exp = claims.time("exp")?;
    if is_reserved_identity(jti) || is_reserved_identity(sub) {
        return Err(TokenError::ReservedIdentity);
    }
    check_times(Some(iat), Some(nbf), exp, now, leeway)?;
    Ok(Claims {
        jti: jti.to_string(),
        sub: sub.to_string(),
        iat,
        nbf,
        exp,
    })
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn check_times(
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

/// The claims of a JWT whose header and HS256 signature have been checked, read once from the token.
struct VerifiedClaims(serde_json::Map<String, serde_json::Value>);

impl VerifiedClaims {
    /// Splits the token, reads the header, checks the signature (constant time, over the bytes as sent) and
    /// only then reads the claims. The header must say HS256, may say `typ` JWT, and must not name critical
    /// extensions (`crit`), which sacon implements none of.
    fn parse(secret: &SharedSecret, jwt: &str) -> Result<VerifiedClaims, TokenError> {
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
        let message = &jwt[..header.len() + 1 + claims.len()];
        let verified = jsonwebtoken::crypto::verify(
            signature,
            message.as_bytes(),
            &secret.decoding_key(),
            Algorithm::HS256,
        )
        .unwrap_or(false);
        if !verified {
            return Err(TokenError::BadSignature);
        }
        Ok(VerifiedClaims(json_object(claims, "claims")?))
    }

    /// Refuses any claim not in `allowed`: each kind of token has a fixed layout, and the layouts are what tells
    /// an admin credential from an account's.
    fn only(&self, allowed: &[&str]) -> Result<(), TokenError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(TokenError::Malformed(format!("unexpected claim {k:?}"))),
            None => Ok(()),
        }
    }

    fn required_string(&self, name: &str) -> Result<&str, TokenError> {
        match self.0.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(_) => Err(TokenError::Malformed(format!("{name} is not a string"))),
            None => Err(TokenError::Malformed(format!("claim {name} is missing"))),
        }
    }

    /// An integer number of seconds in `0..=MAX_TIMESTAMP`; a float, string or out-of-range value is refused.
    fn time(&self, name: &str) -> Result<Option<i64>, TokenError> {
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

    fn required_time(&self, name: &str) -> Result<i64, TokenError> {
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

/// The bootstrap form in Pomerium's layout (`jti`, `sub`, `iat`, `nbf`), plus an `exp` of sacon's own.
#[derive(Serialize)]
struct BootstrapClaims {
    jti: &'static str,
    sub: &'static str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

#[derive(Serialize)]
struct ExpOnlyClaims {
    exp: i64,
}

/// The bootstrap admin JWT (`Authorization: Pomerium <jwt>`) in the layout Pomerium's SDK makes from the shared
/// secret, with a 5-minute `exp` so that a copied token does not stay a root credential for a day.
pub fn bootstrap_token(secret: &SharedSecret, now: DateTime<Utc>) -> Zeroizing<String> {
    let claims = BootstrapClaims {
        jti: BOOTSTRAP_ID,
        sub: BOOTSTRAP_SUBJECT,
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: (now + ADMIN_TOKEN_LIFETIME).timestamp(),
    };
    sign_json(secret, &serde_json::to_vec(&claims).unwrap_or_default())
}

/// The exp-only admin JWT sent in a `jwt:` header.
pub fn exp_only_token(secret: &SharedSecret, now: DateTime<Utc>) -> Zeroizing<String> {
    let claims = ExpOnlyClaims {
        exp: (now + ADMIN_TOKEN_LIFETIME).timestamp(),
    };
    sign_json(secret, &serde_json::to_vec(&claims).unwrap_or_default())
}

/// Accepts a bootstrap admin JWT: right signature, `jti` the bootstrap id and `sub` the bootstrap subject
/// (exactly), no claims but `jti`, `sub`, `iat`, `nbf`, `exp`, and in its time window. Pomerium's SDK sends no
/// `exp`: a token is accepted until its `exp` or [`BOOTSTRAP_MAX_AGE`] after its `iat`, whichever is first, and
/// one with neither is refused.
pub fn verify_bootstrap(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let claims = VerifiedClaims::parse(secret, jwt)?;
    claims.only(&["jti", "sub", "iat", "nbf", "exp"])?;
    if claims.required_string("jti")? != BOOTSTRAP_ID
        || claims.required_string("sub")? != BOOTSTRAP_SUBJECT
    {
        return Err(TokenError::Malformed("not a bootstrap token".into()));
    }
    let iat = claims.time("iat")?;
    // Never longer than the age bound after `iat`, even with a later `exp`: a bootstrap token is a short-lived
    // root credential, and a long-lived one in this layout can only be a leak.
    let latest = iat.map(|iat| iat.saturating_add(BOOTSTRAP_MAX_AGE.num_seconds()));
    let exp = match (claims.time("exp")?, latest) {
        (Some(exp), Some(latest)) => exp.min(latest),
        (Some(exp), None) => exp,
        (None, Some(latest)) => latest,
        (None, None) => {
            return Err(TokenError::Malformed(
                "a bootstrap token needs an exp or an iat".into(),
            ));
        }
    };
    check_times(iat, claims.time("nbf")?, Some(exp), now, ADMIN_LEEWAY)
}

/// Accepts an exp-only admin JWT: right signature, `exp` its only claim, and in the future.
pub fn verify_exp_only(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let claims = VerifiedClaims::parse(secret, jwt)?;
    claims.only(&["exp"])?;
    let exp = claims.required_time("exp")?;
    check_times(None, None, Some(exp), now, ADMIN_LEEWAY)
}

/// The three ways a client presents a service-account JWT, in the order Pomerium reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderForm {
    /// `X-Pomerium-Authorization: <jwt>`
    XPomeriumAuthorization,
    /// `Authorization: Pomerium <jwt>`
    AuthorizationPomerium,
    /// `Authorization: Bearer Pomerium-<jwt>`
    BearerPomerium,
}

impl HeaderForm {
    pub const ALL: [HeaderForm; 3] = [
        HeaderForm::BearerPomerium,
        HeaderForm::XPomeriumAuthorization,
        HeaderForm::AuthorizationPomerium,
    ];

    /// `(header name, header value)` presenting `jwt` in this form.
    pub fn header(self, jwt: &str) -> (&'static str, String) {
        match self {
            HeaderForm::XPomeriumAuthorization => ("X-Pomerium-Authorization", jwt.to_string()),
            HeaderForm::AuthorizationPomerium => ("Authorization", format!("Pomerium {jwt}")),
            HeaderForm::BearerPomerium => ("Authorization", format!("Bearer Pomerium-{jwt}")),
        }
    }
}

/// Finds a token in request headers in Pomerium's order; `get` looks a header up case-insensitively.
pub fn token_from_headers<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Option<(HeaderForm, &'a str)> {
    if let Some(v) = get("x-pomerium-authorization")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Some((HeaderForm::XPomeriumAuthorization, v));
    }
    let auth = get("authorization")?.trim();
    if let Some(rest) = strip_prefix_ci(auth, "Pomerium ") {
        return Some((HeaderForm::AuthorizationPomerium, rest.trim()));
    }
    if let Some(rest) = strip_prefix_ci(auth, "Bearer ")
        && let Some(jwt) = strip_prefix_ci(rest.trim_start(), "Pomerium-")
    {
        return Some((HeaderForm::BearerPomerium, jwt.trim()));
    }
    None
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sign_and_verify_round_trip() {
        let secret = SharedSecret::generate();
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let jwt = sign_service_account(&secret, "acc", "user", now, Some(now + Duration::days(1)));
        let (header, claims) = decode_unverified(&jwt).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(claims["jti"], "acc");
        let c = verify_service_account(&secret, &jwt, now, Duration::seconds(5)).unwrap();
        assert_eq!(c.exp, Some((now + Duration::days(1)).timestamp()));
        assert!(matches!(
            verify_service_account(&secret, &jwt, now + Duration::days(2), Duration::seconds(5)),
            Err(TokenError::Expired(_))
        ));
        assert_eq!(
            verify_service_account(&SharedSecret::generate(), &jwt, now, Duration::seconds(5)),
            Err(TokenError::BadSignature)
        );
        let never = sign_service_account(&secret, "acc", "user", now, None);
        assert!(
            !decode_unverified(&never)
                .unwrap()
                .1
                .as_object()
                .unwrap()
                .contains_key("exp")
        );
    }

    fn signed(secret: &SharedSecret, header: &str, claims: &str) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &secret.encoding_key(),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{message}.{sig}")
    }

    #[test]
    fn admin_tokens() {
        let secret = SharedSecret::generate();
        let now = Utc::now();
        verify_bootstrap(&secret, &bootstrap_token(&secret, now), now).unwrap();
        verify_exp_only(&secret, &exp_only_token(&secret, now), now).unwrap();
        assert!(verify_exp_only(&secret, &bootstrap_token(&secret, now), now).is_err());
        assert!(verify_bootstrap(&secret, &exp_only_token(&secret, now), now).is_err());
        assert_eq!(
            verify_service_account(
                &secret,
                &bootstrap_token(&secret, now),
                now,
                Duration::seconds(5)
            ),
            Err(TokenError::ReservedIdentity)
        );
        let sa = sign_service_account(&secret, "a", "u", now, None);
        assert!(verify_bootstrap(&secret, &sa, now).is_err());
        assert!(verify_exp_only(&secret, &sa, now).is_err());
        let (_, claims) = decode_unverified(&bootstrap_token(&secret, now)).unwrap();
        assert_eq!(claims["jti"], BOOTSTRAP_ID);
        assert_eq!(claims["sub"], BOOTSTRAP_SUBJECT);
        assert_eq!(claims["exp"], (now + ADMIN_TOKEN_LIFETIME).timestamp());
    }

    #[test]
    fn pomerium_sdk_bootstrap_lives_a_bounded_time_from_iat() {
        let secret = SharedSecret::generate();
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let t = now.timestamp();
        let sdk = |iat: i64, nbf: i64| {
            signed(
                &secret,
                HEADER_JSON,
                &format!(
                    r#"{{"jti":"{BOOTSTRAP_ID}","sub":"{BOOTSTRAP_SUBJECT}","iat":{iat},"nbf":{nbf}}}"#
                ),
            )
        };
        verify_bootstrap(&secret, &sdk(t, t - 1), now).unwrap();
        verify_bootstrap(
            &secret,
            &sdk(t, t),
            now + BOOTSTRAP_MAX_AGE - Duration::seconds(1),
        )
        .unwrap();
        // The same leeway as every other `exp`.
        let stale = now + BOOTSTRAP_MAX_AGE + Duration::seconds(5);
        assert!(verify_bootstrap(&secret, &sdk(t, t), stale).is_err());
        let far_exp = signed(
            &secret,
            HEADER_JSON,
            &format!(
                r#"{{"jti":"{BOOTSTRAP_ID}","sub":"{BOOTSTRAP_SUBJECT}","iat":{t},"exp":{}}}"#,
                t + 86400 * 365
            ),
        );
        assert!(verify_bootstrap(&secret, &far_exp, now + Duration::days(2)).is_err());
        let timeless = signed(
            &secret,
            HEADER_JSON,
            &format!(r#"{{"jti":"{BOOTSTRAP_ID}","sub":"{BOOTSTRAP_SUBJECT}"}}"#),
        );
        assert!(verify_bootstrap(&secret, &timeless, now).is_err());
    }

    #[test]
    fn claims_are_read_strictly() {
        let secret = SharedSecret::generate();
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let t = now.timestamp();
        let leeway = Duration::seconds(5);
        let ok = format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t}}}"#);
        verify_service_account(&secret, &signed(&secret, HEADER_JSON, &ok), now, leeway).unwrap();
        for claims in [
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":4611686018427387904}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t}.0}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":-1}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t},"exp":null}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t},"exp":1e12}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t},"aud":"x"}}"#),
            format!(r#"{{"jti":"a","jti":"b","sub":"u","iat":{t},"nbf":{t}}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{},"nbf":{t}}}"#, t + 6),
        ] {
            let jwt = signed(&secret, HEADER_JSON, &claims);
            assert!(
                verify_service_account(&secret, &jwt, now, leeway).is_err(),
                "{claims}"
            );
        }
        for header in [
            r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#,
            r#"{"alg":"HS256","typ":null}"#,
            r#"{"alg":"HS256","typ":"JWS"}"#,
            r#"{"alg":"HS256","alg":"none"}"#,
        ] {
            let jwt = signed(&secret, header, &ok);
            assert!(
                verify_service_account(&secret, &jwt, now, leeway).is_err(),
                "{header}"
            );
        }
        assert!(matches!(
            verify_service_account(
                &secret,
                &signed(&secret, r#"{"alg":"HS512"}"#, &ok),
                now,
                leeway
            ),
            Err(TokenError::WrongAlgorithm(_))
        ));
    }

    #[test]
    fn secret_base64_must_be_32_bytes() {
        assert!(SharedSecret::from_base64(&STANDARD.encode([1u8; 31])).is_err());
        assert!(SharedSecret::from_base64("not base64!").is_err());
        let s = SharedSecret::generate();
        assert_eq!(
            SharedSecret::from_base64(&s.to_base64()).unwrap().bytes(),
            s.bytes()
        );
    }

    #[test]
    fn header_forms_in_pomerium_order() {
        let find = |pairs: &'static [(&'static str, &'static str)]| {
            token_from_headers(|name| {
                pairs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v)
            })
        };
        assert_eq!(
            find(&[("Authorization", "Bearer Pomerium-abc")]),
            Some((HeaderForm::BearerPomerium, "abc"))
        );
        assert_eq!(
            find(&[("Authorization", "Pomerium abc")]),
            Some((HeaderForm::AuthorizationPomerium, "abc"))
        );
        assert_eq!(
            find(&[
                ("Authorization", "Pomerium abc"),
                ("X-Pomerium-Authorization", "xyz")
            ]),
            Some((HeaderForm::XPomeriumAuthorization, "xyz"))
        );
        assert_eq!(find(&[("Authorization", "Bearer abc")]), None);
        for form in HeaderForm::ALL {
            let (name, value) = form.header("tok");
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(vec![(name, &*Box::leak(value.into_boxed_str()))].into_boxed_slice());
            assert_eq!(find(pairs), Some((form, "tok")));
        }
    }
}
