//! Tokens and the secret they are signed with: the shared secret (32 random bytes, base64 in a 0600 file),
//! HS256 service-account JWTs in Pomerium's claim layout, the admin credentials made from the secret, and the three
//! header forms a client presents a token in.

mod admin;
mod headers;
mod jwt;
mod secret;

use chrono::Duration;

pub use admin::{bootstrap_token, exp_only_token, verify_bootstrap, verify_exp_only};
pub use headers::{HeaderForm, token_from_headers};
pub use jwt::{
    Claims, MAX_TIMESTAMP, MAX_TOKEN_LEN, TokenError, decode_unverified, is_reserved_identity,
    sign_service_account, verify_service_account,
};
pub use secret::{SecretError, SharedSecret, write_private_file};

/// The `jti` of the bootstrap admin JWT that Pomerium's own SDK sends; never a service account's id.
pub const BOOTSTRAP_ID: &str = "014e587b-3f4b-4fcf-90a9-f6ecdf8154af";
/// The `sub` of the bootstrap admin JWT that Pomerium's own SDK sends; never a service account's user id.
pub const BOOTSTRAP_SUBJECT: &str = "bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium";
/// The exact JOSE header of every token sacon signs.
pub(crate) const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// How long a credential sacon makes from the shared secret stays valid.
pub(crate) const ADMIN_TOKEN_LIFETIME: Duration = Duration::minutes(5);
/// How long after its `iat` a bootstrap token without `exp` (the form Pomerium's SDK and terraform provider send)
/// is accepted: long enough for a provider run that signs once, short enough that a leaked one dies.
pub const BOOTSTRAP_MAX_AGE: Duration = Duration::hours(24);

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use chrono::{TimeZone, Utc};
    use jsonwebtoken::Algorithm;

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

    /// The claims are read straight into their fields: escaped ids, long claims and every refusal come out as
    /// the general JSON reading would have them.
    #[test]
    fn account_claims_are_read_into_their_fields() {
        let secret = SharedSecret::generate();
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let t = now.timestamp();
        let leeway = Duration::seconds(5);
        let read = |claims: &str| {
            verify_service_account(&secret, &signed(&secret, HEADER_JSON, claims), now, leeway)
        };
        let escaped = read(&format!(
            r#"{{ "jti" : "a\u0062", "sub":"\"u\"", "nbf":{t}, "iat":{t}, "exp":{} }}"#,
            t + 60
        ))
        .unwrap();
        assert_eq!(
            (escaped.jti.as_str(), escaped.sub.as_str()),
            ("ab", "\"u\"")
        );
        assert_eq!(escaped.exp, Some(t + 60));
        let long_id = "x".repeat(1500);
        let long = read(&format!(
            r#"{{"jti":"{long_id}","sub":"u","iat":{t},"nbf":{t}}}"#
        ))
        .unwrap();
        assert_eq!(long.jti, long_id);
        for claims in [
            format!(r#"{{"sub":"u","iat":{t},"nbf":{t}}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":"{t}","nbf":{t}}}"#),
            format!(r#"{{"jti":1,"sub":"u","iat":{t},"nbf":{t}}}"#),
            format!(r#"{{"jti":null,"sub":"u","iat":{t},"nbf":{t}}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t},"nbf":{t}}}"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t}}} x"#),
            format!(r#"[{{"jti":"a","sub":"u","iat":{t},"nbf":{t}}}]"#),
            format!(r#"{{"jti":"a","sub":"u","iat":{t},"nbf":{t},"exp":18446744073709551616}}"#),
        ] {
            assert!(
                matches!(read(&claims), Err(TokenError::Malformed(_))),
                "{claims}"
            );
        }
        let reserved = format!(
            r#"{{"jti":"{}","sub":"u","iat":{t},"nbf":{t}}}"#,
            BOOTSTRAP_ID.to_uppercase()
        );
        assert_eq!(read(&reserved), Err(TokenError::ReservedIdentity));
        // A signature of the wrong length, altered, or not canonical base64url does not verify.
        let jwt = sign_service_account(&secret, "acc", "user", now, None);
        let (message, sig) = jwt.rsplit_once('.').unwrap();
        let mut flipped = sig.as_bytes().to_vec();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let last = sig.as_bytes()[42];
        let sibling = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']
            .into_iter()
            .find(|c| *c as u8 != last)
            .unwrap();
        for bad in [
            format!("{message}.{}", &sig[..42]),
            format!("{message}.{sig}A"),
            format!("{message}.{}", String::from_utf8(flipped).unwrap()),
            format!("{message}.{}{sibling}", &sig[..42]),
            format!("{message}.{sig}="),
        ] {
            assert_eq!(
                verify_service_account(&secret, &bad, now, leeway),
                Err(TokenError::BadSignature),
                "{bad}"
            );
        }
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
