//! Python's `json.dumps` string literals, byte for byte: the AWS CLI writes the SSO and `aws
//! login` caches with `json.dumps`, and aws-cred writes them back the same way.

/// A string literal as `json.dumps` escapes it: `\"`, `\\`, the short escapes, and `\uXXXX`
/// (lower-case hex, UTF-16 surrogate pairs) for everything outside printable ASCII.
pub fn string(out: &mut String, s: &str) {
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
}
