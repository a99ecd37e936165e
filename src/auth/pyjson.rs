//! JSON as Python's `json` module reads and writes it, for the files and keys aws-cred shares
//! with the AWS CLI (the SSO token and registration caches, the registration cache key, the
//! `aws login` cache): a document whose object keys keep their order (a `dict`), written with
//! `json.dumps` defaults (`", "` and `": "` separators, `ensure_ascii=True`, one line, no final
//! newline), byte for byte. The AWS CLI rewrites the login cache with `dict.update`, so keys it
//! does not know keep their place; aws-cred does the same.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A JSON value whose objects keep their key order.
#[derive(Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// Values may be secrets (refresh tokens, keys): never printed.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Value(** redacted **)")
    }
}

impl Value {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The member `key` of an object: that exact key, else one that differs only in case (as
    /// aws-config matches them).
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        let Value::Object(pairs) = self else {
            return None;
        };
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .or_else(|| pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v)
    }

    pub(crate) fn string(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// Replace the member `key` where it is (matched as [`Value::get`] does), or append it, as
    /// Python's `dict.update` does. No-op on anything but an object.
    pub(crate) fn set(&mut self, key: &str, value: Value) {
        let Value::Object(pairs) = self else { return };
        let at = pairs
            .iter()
            .position(|(k, _)| k == key)
            .or_else(|| pairs.iter().position(|(k, _)| k.eq_ignore_ascii_case(key)));
        match at {
            Some(i) => pairs[i].1 = value,
            None => pairs.push((key.to_string(), value)),
        }
    }

    /// A string value.
    pub(crate) fn str(text: &str) -> Value {
        Value::Str(text.to_string())
    }

    /// A list of strings.
    pub(crate) fn list(items: &[String]) -> Value {
        Value::Array(items.iter().map(|item| Value::str(item)).collect())
    }

    /// An object from `(key, value)` pairs, in this order (pass them sorted for
    /// `sort_keys=True`).
    pub(crate) fn pairs(pairs: Vec<(&str, Value)>) -> Value {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// `json.dumps(value)`.
    pub(crate) fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::Str(s) => string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    string(out, key);
                    out.push_str(": ");
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A string literal as `json.dumps` escapes it: `\"`, `\\`, the short escapes, and `\uXXXX`
/// (lower-case hex, UTF-16 surrogate pairs) for everything outside printable ASCII.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
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
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut pairs: Vec<(String, Value)> = Vec::new();
        // Where each key is, so a file of many keys parses in linear time.
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            // Python keeps the last value of a repeated key, at the first one's place.
            match index.get(&key) {
                Some(&at) => pairs[at].1 = value,
                None => {
                    index.insert(key.clone(), pairs.len());
                    pairs.push((key, value));
                }
            }
        }
        Ok(Value::Object(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_python_does() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\n\t\u{8}\u{c}é😀~");
        assert_eq!(
            out,
            r#""a\"b\\c\n\t\b\fé\ud83d\ude00~""#.replace('é', "\\u00e9")
        );
    }

    #[test]
    fn new_documents_match_python_json_dumps() {
        // python3 -c 'import json; print(json.dumps({"a": "é\x7f\n\"\\/ 😀\x01"}))'
        assert_eq!(
            Value::pairs(vec![("a", Value::str("é\u{7f}\n\"\\/ \u{1F600}\u{1}"))]).dumps(),
            r#"{"a": "\u00e9\u007f\n\"\\/ \ud83d\ude00\u0001"}"#
        );
        let scopes = vec!["sso:account:access".to_string()];
        assert_eq!(
            Value::pairs(vec![
                ("region", Value::str("us-east-1")),
                ("scopes", Value::list(&scopes)),
                ("session_name", Value::Null),
            ])
            .dumps(),
            r#"{"region": "us-east-1", "scopes": ["sso:account:access"], "session_name": null}"#
        );
    }

    #[test]
    fn round_trips_in_order_like_python() {
        // python3 -c 'import json; d = json.loads(s); print(json.dumps(d), end="")'
        let text = br#"{ "z": 1, "a": {"y": [true, null, 2.5], "b": "\u00e9\n"}, "z": -3 }"#;
        let value = Value::parse(text).unwrap();
        assert_eq!(
            value.dumps(),
            r#"{"z": -3, "a": {"y": [true, null, 2.5], "b": "\u00e9\n"}}"#
        );
    }

    /// Issue 22, item 6: many keys, one repeated at the end: Python's placement (first place,
    /// last value). (The lookup behind it is now an index: a 1 MB file of 50,000 keys took
    /// 18.6 s, now 0.1 s; measured, not asserted here.)
    #[test]
    fn many_keys_keep_pythons_placement() {
        let keys: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\": 1")).collect();
        let text = format!("{{{}, \"k7\": 2}}", keys.join(", "));
        let value = Value::parse(text.as_bytes()).unwrap();
        let Value::Object(pairs) = &value else {
            panic!("an object")
        };
        assert_eq!(pairs.len(), 50_000);
        assert_eq!(pairs[7], ("k7".to_string(), Value::Number(2.into())));
        assert_eq!(pairs[49_999].0, "k49999");
    }

    #[test]
    fn set_replaces_in_place_or_appends() {
        let mut value = Value::parse(br#"{"a": "1", "RefreshToken": "x", "c": "3"}"#).unwrap();
        value.set("refreshToken", Value::Str("y".into()));
        value.set("new", Value::Str("n".into()));
        assert_eq!(
            value.dumps(),
            r#"{"a": "1", "RefreshToken": "y", "c": "3", "new": "n"}"#
        );
        assert_eq!(value.string("refreshtoken"), Some("y"));
        assert!(!format!("{value:?}").contains('y'));
    }
}
