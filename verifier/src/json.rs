//! The one JSON decoder of every document zkmargin reads: the files the CLI loads
//! ([`crate::files`]), proof bundles ([`crate::ProofBundle::from_json`]) and the
//! service's request bodies. Shared so the CLI and the service can never read one
//! document two ways.
//!
//! On top of JSON's grammar it refuses, with the line and column:
//! - **a key twice in one object.** JSON leaves the meaning open (RFC 8259 §4: names
//!   "SHOULD be unique"); `serde_json::Value` keeps the last value, a typed decoder
//!   rejects the document, other parsers keep the first. A client whose parser took
//!   `"status": "breaches"` from `{"status": "breaches", "status": "meets"}` would read
//!   a different statement next to the verifier's verdict, so no reader of ours
//!   accepts one.
//! - **a number that is not an integer of 64 bits**, and `-0`. Every number in
//!   zkmargin's formats is an integer (`docs/FORMATS.md`), written one way; a
//!   fraction, an exponent or an integer beyond `u64`/`i64` would otherwise reach the typed decoder as a float and be
//!   reported as "invalid type: floating point `1.8446744073709552e+19`".
//!
//! The text encodings inside strings (lowercase hex, `0x` field elements) are the
//! types' own decoders' business: [`zkmargin_circuits::fr_from_hex`],
//! [`zkmargin_circuits::hex_text`], the oracle's key and signature types.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as one JSON document under the rules above.
///
/// # Errors
/// serde_json's error (syntax, or one of the rules above), with line and column.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

/// [`parse`] of a string.
///
/// # Errors
/// As [`parse`].
pub fn parse_str(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Strict>(text).map(|s| s.0)
}

/// A JSON value decoded under the rules of this module.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json hands over as f64 every number with a fraction or an exponent,
        // and every integer beyond u64 / i64.
        let what = if v == 0.0 {
            // `-0`, which serde_json keeps as a float to keep its sign.
            "-0 is not a canonical integer (write 0)".to_owned()
        } else if v.is_finite() && v.fract() == 0.0 {
            format!("the number {v:e} is not an integer of 64 bits (at most 18446744073709551615, at least -9223372036854775808)")
        } else {
            format!("the number {v} is not an integer")
        };
        Err(E::custom(format!(
            "{what}: every number in zkmargin documents is an integer, written without a fraction or an exponent"
        )))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?} in one object: each key may appear once"
                )));
            }
            let Strict(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        for doc in [
            r#"{"status":"breaches","status":"meets"}"#,
            r#"{"statement":{"liquidator":1,"liquidator":2}}"#,
            r#"{"bundles":[{"a":1},{"b":1,"b":1}]}"#,
        ] {
            let e = parse_str(doc).unwrap_err().to_string();
            assert!(e.contains("duplicate key"), "{doc}: {e}");
            assert!(e.contains("line 1 column"), "{doc}: {e}");
        }
        // The same key in two objects is fine.
        assert!(parse_str(r#"[{"a":1},{"a":2}]"#).is_ok());
    }

    #[test]
    fn numbers_are_64_bit_integers() {
        assert_eq!(
            parse_str("[18446744073709551615, -9223372036854775808, 0]").unwrap(),
            serde_json::json!([u64::MAX, i64::MIN, 0])
        );
        let e = parse_str(r#"{"tokens":[18446744073709551616]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not an integer of 64 bits") && !e.contains("floating point"),
            "{e}"
        );
        for doc in ["1.5", "1e3", "-9223372036854775809", "1.0", "-0"] {
            let e = parse_str(doc).unwrap_err().to_string();
            assert!(e.contains("integer"), "{doc}: {e}");
        }
    }

    #[test]
    fn everything_else_is_plain_json() {
        let doc = r#"{"a":[true,false,null,"x\u00e9",{"b":{}}],"c":-1}"#;
        assert_eq!(
            parse_str(doc).unwrap(),
            serde_json::from_str::<Value>(doc).unwrap()
        );
        assert!(parse(b"{").is_err());
        assert!(parse(b"{} {}").is_err(), "one document");
    }
}
