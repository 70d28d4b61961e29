//! Protobuf JSON mapping helpers for the wire types: RFC 3339 `Z` timestamps, 64-bit integers as strings,
//! Struct as a JSON object, FieldMask as one camelCase string, enums by name, and `null` read as unset.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Reads `null` as the type's default; anything else as usual.
pub fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

pub fn timestamp_to_chrono(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok()?;
    Utc.timestamp_opt(ts.seconds, nanos).single()
}

pub fn chrono_to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `Option<Timestamp>` as an RFC 3339 string in UTC ending in `Z`.
pub mod opt_timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(
        v: &Option<prost_types::Timestamp>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v.as_ref().and_then(timestamp_to_chrono) {
            Some(t) => s.serialize_str(&format_time(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<prost_types::Timestamp>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let t = DateTime::parse_from_rfc3339(&text).map_err(|_| {
            de::Error::custom(format!(
                "timestamp {text:?} is not RFC 3339 (like 2027-01-31T00:00:00Z)"
            ))
        })?;
        Ok(Some(chrono_to_timestamp(t.with_timezone(&Utc))))
    }
}

/// Integers as decimal strings on output; strings or numbers (or `null`) on input.
pub mod int_string {
    use super::*;
    use std::str::FromStr;

    pub fn serialize<S: Serializer, T: ToString>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr + Default + TryFrom<i128>,
    {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i128),
            Float(f64),
            Text(String),
        }
        let out_of_range = || de::Error::custom("integer out of range");
        match Option::<Raw>::deserialize(d)? {
            None => Ok(T::default()),
            Some(Raw::Int(i)) => T::try_from(i).map_err(|_| out_of_range()),
            Some(Raw::Float(f)) if f.fract() == 0.0 && f.abs() < 1e19 => {
                T::try_from(f as i128).map_err(|_| out_of_range())
            }
            Some(Raw::Float(_)) => Err(de::Error::custom("expected an integer")),
            Some(Raw::Text(t)) => t
                .trim()
                .parse::<T>()
                .map_err(|_| de::Error::custom(format!("{t:?} is not an integer"))),
        }
    }
}

/// `google.protobuf.Struct` as a plain JSON object.
pub mod opt_struct {
    use super::*;
    use prost_types::{ListValue, Struct, Value, value::Kind};
    use serde_json::{Map, Value as Json};

    pub fn serialize<S: Serializer>(v: &Option<Struct>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(st) => struct_to_json(st).serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Struct>, D::Error> {
        match Option::<Json>::deserialize(d)? {
            None => Ok(None),
            Some(Json::Object(m)) => Ok(Some(json_to_struct(m))),
            Some(_) => Err(de::Error::custom("expected a JSON object")),
        }
    }

    pub fn struct_to_json(st: &Struct) -> Json {
        Json::Object(
            st.fields
                .iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        )
    }

    pub fn value_to_json(v: &Value) -> Json {
        match &v.kind {
            None | Some(Kind::NullValue(_)) => Json::Null,
            Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Some(Kind::StringValue(s)) => Json::String(s.clone()),
            Some(Kind::BoolValue(b)) => Json::Bool(*b),
            Some(Kind::StructValue(s)) => struct_to_json(s),
            Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(value_to_json).collect()),
        }
    }

    pub fn json_to_struct(m: Map<String, Json>) -> Struct {
        Struct {
            fields: m.into_iter().map(|(k, v)| (k, json_to_value(v))).collect(),
        }
    }

    pub fn json_to_value(v: Json) -> Value {
        let kind = match v {
            Json::Null => Kind::NullValue(0),
            Json::Bool(b) => Kind::BoolValue(b),
            Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
            Json::String(s) => Kind::StringValue(s),
            Json::Array(a) => Kind::ListValue(ListValue {
                values: a.into_iter().map(json_to_value).collect(),
            }),
            Json::Object(m) => Kind::StructValue(json_to_struct(m)),
        };
        Value { kind: Some(kind) }
    }
}

/// `google.protobuf.Duration` as protobuf's JSON string form, seconds with an `s` suffix (`"600s"`, `"1.5s"`).
pub mod opt_duration {
    use super::*;
    use prost_types::Duration;

    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) if d.nanos == 0 => s.serialize_str(&format!("{}s", d.seconds)),
            Some(d) => {
                let text = format!("{}.{:09}", d.seconds, d.nanos.unsigned_abs());
                s.serialize_str(&format!("{}s", text.trim_end_matches('0')))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bad = || de::Error::custom(format!("duration {text:?} is not seconds like \"600s\""));
        let number = text.strip_suffix('s').ok_or_else(bad)?;
        let secs: f64 = number.parse().map_err(|_| bad())?;
        if !secs.is_finite() || secs.abs() > 315_576_000_000.0 {
            return Err(bad());
        }
        Ok(Some(Duration {
            seconds: secs.trunc() as i64,
            nanos: (secs.fract() * 1e9).round() as i32,
        }))
    }
}

/// `google.protobuf.FieldMask` as one comma-separated string of lowerCamelCase paths; stored snake_case.
pub mod opt_field_mask {
    use super::*;
    use prost_types::FieldMask;

    pub fn serialize<S: Serializer>(v: &Option<FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(m) => s.serialize_str(
                &m.paths
                    .iter()
                    .map(|p| snake_to_camel(p))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FieldMask>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(|text| FieldMask {
            paths: text
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(camel_to_snake)
                .collect(),
        }))
    }
}

pub fn snake_to_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub fn camel_to_snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The `ServerType` enum by name.
pub mod server_type {
    use super::*;
    use crate::api::wire::ServerType;

    pub fn serialize<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
        match ServerType::try_from(*v) {
            Ok(t) => s.serialize_str(t.as_str_name()),
            Err(_) => s.serialize_i32(*v),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(i32),
            Name(String),
        }
        match Option::<Raw>::deserialize(d)? {
            None => Ok(0),
            Some(Raw::Num(n)) => Ok(n),
            Some(Raw::Name(name)) => ServerType::from_str_name(&name)
                .map(|t| t as i32)
                .ok_or_else(|| de::Error::custom(format!("unknown server type {name:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversion() {
        assert_eq!(snake_to_camel("expires_at"), "expiresAt");
        assert_eq!(camel_to_snake("expiresAt"), "expires_at");
        assert_eq!(camel_to_snake("description"), "description");
    }
}
