//! The two Connect unary codecs, `application/json` (protobuf JSON mapping) and `application/proto` (binary
//! protobuf via prost): content-type negotiation, encoding, and decoding into `invalid_argument` errors.

use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ConnectError;

pub const JSON: &str = "application/json";
pub const PROTO: &str = "application/proto";
/// What a server names in `Accept-Post` when it refuses a content type.
pub const ACCEPT_POST: &str = "application/json, application/proto";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Json,
    Proto,
}

impl Codec {
    /// The codec a `Content-Type` names (parameters such as `charset=utf-8` allowed); `None` for any other.
    pub fn from_content_type(content_type: &str) -> Option<Codec> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case(JSON) {
            Some(Codec::Json)
        } else if essence.eq_ignore_ascii_case(PROTO) {
            Some(Codec::Proto)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Json => JSON,
            Codec::Proto => PROTO,
        }
    }

    pub fn encode<T: Message + Serialize>(self, msg: &T) -> Vec<u8> {
        match self {
            // Serializing these plain structs cannot fail; an empty object is the safe fallback.
            Codec::Json => serde_json::to_vec(msg).unwrap_or_else(|_| b"{}".to_vec()),
            Codec::Proto => msg.encode_to_vec(),
        }
    }

    pub fn decode<T: Message + Default + DeserializeOwned>(
        self,
        body: &[u8],
    ) -> Result<T, ConnectError> {
        match self {
            Codec::Json => {
                if body.iter().all(u8::is_ascii_whitespace) {
                    return Err(ConnectError::invalid(
                        "empty request body: send `{}` for an empty message",
                    ));
                }
                let malformed = |e: serde_json::Error| {
                    ConnectError::invalid(format!("malformed JSON request: {e}"))
                };
                // Most bodies hold no `null` at all: decode them straight from the bytes, without the tree.
                if !body.windows(4).any(|w| w == b"null") {
                    return serde_json::from_slice(body).map_err(malformed);
                }
                let mut value: serde_json::Value =
                    serde_json::from_slice(body).map_err(malformed)?;
                drop_nulls(&mut value);
                T::deserialize(value).map_err(malformed)
            }
            Codec::Proto => T::decode(body)
                .map_err(|e| ConnectError::invalid(format!("malformed protobuf request: {e}"))),
        }
    }
}

/// Fields whose value is a `google.protobuf.Struct`, where `null` is a value and not "unset" (a schema test keeps
/// this list complete).
pub const STRUCT_FIELDS: [&str; 1] = ["filter"];

/// The protobuf JSON mapping reads `null` as "unset" for every field; pbjson refuses it for scalars and repeated
/// fields, so nulls are dropped before decoding — except inside `Struct` values, where `null` is data.
fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for (k, v) in map.iter_mut() {
                if !STRUCT_FIELDS.contains(&k.as_str()) {
                    drop_nulls(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::{GetServiceAccountRequest, ListServiceAccountsResponse, ServiceAccount};

    #[test]
    fn json_rules() {
        let resp = ListServiceAccountsResponse {
            service_accounts: vec![ServiceAccount {
                id: Some("a".into()),
                expires_at: Some(crate::api::wkt::Timestamp {
                    seconds: 1_801_353_600,
                    nanos: 0,
                }),
                ..Default::default()
            }],
            total_count: 0,
        };
        let text = String::from_utf8(Codec::Json.encode(&resp)).unwrap();
        assert_eq!(
            text,
            r#"{"serviceAccounts":[{"id":"a","expiresAt":"2027-01-31T00:00:00Z"}]}"#
        );
        let resp = ListServiceAccountsResponse {
            total_count: 12,
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(Codec::Json.encode(&resp)).unwrap(),
            r#"{"totalCount":"12"}"#
        );
        let back: ListServiceAccountsResponse = Codec::Json
            .decode(br#"{"total_count": 12, "service_accounts": null}"#)
            .unwrap();
        assert_eq!(back.total_count, 12);
        assert!(Codec::Json.decode::<GetServiceAccountRequest>(b"").is_err());
        assert!(
            Codec::Json
                .decode::<GetServiceAccountRequest>(b"[1]")
                .is_err()
        );
        assert_eq!(
            Codec::from_content_type("application/json; charset=utf-8"),
            Some(Codec::Json)
        );
        assert_eq!(Codec::from_content_type("text/plain"), None);
    }
}
