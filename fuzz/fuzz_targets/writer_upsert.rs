//! Any file and any section name/values: the writer never panics, and when it writes, every
//! byte before the section it touched is unchanged.
#![no_main]

use aws_cred::profile::writer::{HeaderStyle, find_section, upsert_section};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(4, '\0');
    let (Some(name), Some(key), Some(value), Some(original)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    for style in [HeaderStyle::Credentials, HeaderStyle::Config] {
        let entries = [(key, value), ("aws_secret_access_key", "x")];
        if let Ok(upserted) = upsert_section(original, name, style, &entries) {
            let text = &upserted.text;
            // The output starts with the original up to the first byte that differs, and that
            // point is no earlier than the edited section's header (or the end, when appended).
            let common = original
                .bytes()
                .zip(text.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            match find_section(original, name, style) {
                Some(section) if upserted.replaced => {
                    assert!(common >= section.start, "bytes before the section changed");
                    assert!(
                        text.ends_with(&original[section.end..]),
                        "bytes after the section changed"
                    );
                }
                _ => assert_eq!(common, original.len(), "append must keep the whole original"),
            }
            assert!(text.contains(value), "written value missing");
        }
    }
});
