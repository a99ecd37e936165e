//! JSON the way Python's `json.dumps` writes it with default settings (`", "` and `": "`
//! separators, `ensure_ascii=True`), so the files and cache keys we share with the AWS CLI are
//! byte for byte what it would produce.

use crate::base::pyjson::string;
/// A value in one of the small documents we write.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Str(&'a str),
    List(&'a [String]),
    Null,
}

/// `{"k": v, ...}` with the pairs in the order given (Python keeps insertion order; pass them
/// sorted to get `sort_keys=True`).
pub fn object(pairs: &[(&str, Value<'_>)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        string(&mut out, key);
        out.push_str(": ");
        match value {
            Value::Str(s) => string(&mut out, s),
            Value::Null => out.push_str("null"),
            Value::List(items) => {
                out.push('[');
                for (j, item) in items.iter().enumerate() {
                    if j > 0 {
                        out.push_str(", ");
                    }
                    string(&mut out, item);
                }
                out.push(']');
            }
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_json_dumps() {
        // python3 -c 'import json; print(json.dumps({"a": "é\x7f\n\"\\/ 😀\x01"}))'
        assert_eq!(
            object(&[("a", Value::Str("é\u{7f}\n\"\\/ \u{1F600}\u{1}"))]),
            r#"{"a": "\u00e9\u007f\n\"\\/ \ud83d\ude00\u0001"}"#
        );
        let scopes = vec!["sso:account:access".to_string()];
        assert_eq!(
            object(&[
                ("region", Value::Str("us-east-1")),
                ("scopes", Value::List(&scopes)),
                ("session_name", Value::Null),
            ]),
            r#"{"region": "us-east-1", "scopes": ["sso:account:access"], "session_name": null}"#
        );
    }
}
