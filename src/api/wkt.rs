//! The well-known types whose protobuf JSON mapping pbjson-types gets wrong, written to the mapping exactly
//! (build.rs maps the proto types here): `Timestamp` as RFC 3339 in UTC ending in `Z` with its nanoseconds
//! (pbjson-types writes `+00:00`), and `FieldMask` as one comma-separated string of lowerCamelCase paths
//! (pbjson-types writes an object).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    pub fn to_chrono(self) -> Option<DateTime<Utc>> {
        let nanos = u32::try_from(self.nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)?;
        Utc.timestamp_opt(self.seconds, nanos).single()
    }

    pub fn from_chrono(t: DateTime<Utc>) -> Timestamp {
        Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.to_chrono().ok_or_else(|| {
            serde::ser::Error::custom(format!(
                "timestamp {}s {}ns is out of range",
                self.seconds, self.nanos
            ))
        })?;
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        let t = DateTime::parse_from_rfc3339(&text).map_err(|_| {
            de::Error::custom(format!(
                "timestamp {text:?} is not RFC 3339 (like 2027-01-31T00:00:00Z)"
            ))
        })?;
        Ok(Timestamp::from_chrono(t.with_timezone(&Utc)))
    }
}

#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct FieldMask {
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
}

impl Serialize for FieldMask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let camel: Vec<String> = self
            .paths
            .iter()
            .map(|p| super::convert::snake_to_camel(p))
            .collect();
        s.serialize_str(&camel.join(","))
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FieldMask, D::Error> {
        let text = String::deserialize(d)?;
        Ok(FieldMask {
            paths: text
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(super::convert::camel_to_snake)
                .collect(),
        })
    }
}
