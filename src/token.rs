//! The shared secret (32 random bytes, base64 in a 0600 file), HS256 service-account JWTs in Pomerium's claim
//! layout, the admin credentials made from the secret, and the three header forms a client presents a token in.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The `sub` of the bootstrap admin JWT that Pomerium's own SDK sends.
pub const BOOTSTRAP_SUBJECT: &str = "bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium";
/// The exact JOSE header of every token sacon signs.
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// How long a credential made from the shared secret stays valid.
const ADMIN_TOKEN_LIFETIME: Duration = Duration::minutes(5);

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

/// Signs a service account's JWT.
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
}

/// Verifies signature (HS256 only) and `nbf`/`exp` against `now` with `leeway`; returns the claims.
pub fn verify_service_account(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
    leeway: Duration,
) -> Result<Claims, TokenError> {
    let claims: Claims = decode_verified(secret, jwt)?;
    check_times(Some(claims.nbf), claims.exp, now, leeway)?;
    Ok(claims)
}

fn check_times(
    nbf: Option<i64>,
    exp: Option<i64>,
    now: DateTime<Utc>,
    leeway: Duration,
) -> Result<(), TokenError> {
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or_default();
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

fn decode_verified<T: serde::de::DeserializeOwned>(
    secret: &SharedSecret,
    jwt: &str,
) -> Result<T, TokenError> {
    if jwt.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed(format!(
            "longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let header =
        jsonwebtoken::decode_header(jwt).map_err(|e| TokenError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::WrongAlgorithm(format!("{:?}", header.alg)));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<T>(jwt, &secret.decoding_key(), &validation)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
            _ => TokenError::Malformed(e.to_string()),
        })
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

#[derive(Serialize, Deserialize)]
struct BootstrapClaims {
    sub: String,
    iat: i64,
    exp: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpOnlyClaims {
    exp: i64,
}

/// The bootstrap admin JWT (`Authorization: Pomerium <jwt>`), as Pomerium's SDK makes from the shared secret.
pub fn bootstrap_token(secret: &SharedSecret, now: DateTime<Utc>) -> Zeroizing<String> {
    let claims = BootstrapClaims {
        sub: BOOTSTRAP_SUBJECT.to_string(),
        iat: now.timestamp(),
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

/// Accepts a bootstrap admin JWT: right signature, `sub` is the bootstrap subject, `exp` (if any) in the future.
pub fn verify_bootstrap(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    #[derive(Deserialize)]
    struct Loose {
        sub: String,
        #[serde(default)]
        exp: Option<i64>,
        #[serde(default)]
        nbf: Option<i64>,
    }
    let claims: Loose = decode_verified(secret, jwt)?;
    if claims.sub != BOOTSTRAP_SUBJECT {
        return Err(TokenError::Malformed("not a bootstrap token".into()));
    }
    check_times(claims.nbf, claims.exp, now, Duration::seconds(5))
}

/// Accepts an exp-only admin JWT: right signature, `exp` its only claim, and in the future.
pub fn verify_exp_only(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let claims: ExpOnlyClaims = decode_verified(secret, jwt)?;
    check_times(None, Some(claims.exp), now, Duration::seconds(5))
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

    #[test]
    fn admin_tokens() {
        let secret = SharedSecret::generate();
        let now = Utc::now();
        verify_bootstrap(&secret, &bootstrap_token(&secret, now), now).unwrap();
        verify_exp_only(&secret, &exp_only_token(&secret, now), now).unwrap();
        assert!(verify_exp_only(&secret, &bootstrap_token(&secret, now), now).is_err());
        let sa = sign_service_account(&secret, "a", "u", now, None);
        assert!(verify_bootstrap(&secret, &sa, now).is_err());
        assert!(verify_exp_only(&secret, &sa, now).is_err());
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
