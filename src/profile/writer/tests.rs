//! The writer's pure text functions: byte preservation, section matching, validation, and
//! properties over generated files. On-disk behaviour is in [`files`].

use super::sections::{is_blank, is_comment, lines, locate};
use super::*;
use proptest::prelude::*;
use std::ops::Range;

mod files;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY";
const SESSION: &[(&str, &str)] = &[
    ("aws_access_key_id", "ASIAEXAMPLE"),
    ("aws_secret_access_key", SECRET),
    ("aws_session_token", "FwoGZXIvYXdzE+token/with=base64=="),
];

fn upsert(text: &str, name: &str, entries: &[(&str, &str)]) -> Upserted {
    upsert_section(text, name, HeaderStyle::Credentials, entries).expect("upsert succeeds")
}

// ---- text: editing some keys of a section ---------------------------------------------------

fn edit(text: &str, name: &str, set: &[(&str, &str)], remove: &[&str]) -> Edited {
    edit_section(text, name, HeaderStyle::Credentials, set, remove).expect("edit succeeds")
}

#[test]
fn edit_removes_keys_and_their_continuations_and_keeps_the_rest() {
    let before = "# c\n[a]\nx = 1\n\n[p]  # mine\nregion = r\nAWS_ACCESS_KEY_ID = K\naws_secret_access_key = S\n  continued\n; inner\nout = json\n# c2\n\n[q]\ny = 2\n";
    let edited = edit(
        before,
        "p",
        &[],
        &["aws_access_key_id", "aws_secret_access_key"],
    );
    assert_eq!(
        edited.text,
        "# c\n[a]\nx = 1\n\n[p]  # mine\nregion = r\n; inner\nout = json\n# c2\n\n[q]\ny = 2\n"
    );
    assert!(edited.changed && !edited.removed_section);
}

#[test]
fn edit_removes_a_section_left_empty() {
    let before = "[a]\nx = 1\n\n[p]\naws_access_key_id = K\naws_secret_access_key = S\n\n# about q\n[q]\ny = 2\n";
    let edited = edit(
        before,
        "p",
        &[],
        &["aws_access_key_id", "aws_secret_access_key"],
    );
    assert_eq!(edited.text, "[a]\nx = 1\n\n\n# about q\n[q]\ny = 2\n");
    assert!(edited.removed_section);
    let last = "[a]\nx = 1\n[p]\naws_access_key_id = K";
    assert_eq!(
        edit(last, "p", &[], &["aws_access_key_id"]).text,
        "[a]\nx = 1\n"
    );
}

#[test]
fn edit_sets_in_place_or_appends_keeping_line_endings() {
    let crlf = "[profile p]\r\nregion = r\r\ncredential_process = old\r\noutput = json\r\n";
    let edited = edit_section(
        crlf,
        "p",
        HeaderStyle::Config,
        &[("credential_process", "aws-cred keys process --profile p")],
        &[],
    )
    .unwrap();
    assert_eq!(
        edited.text,
        "[profile p]\r\nregion = r\r\ncredential_process = aws-cred keys process --profile p\r\noutput = json\r\n"
    );
    let no_final_newline = "[profile p]\nregion = r";
    let edited = edit_section(
        no_final_newline,
        "p",
        HeaderStyle::Config,
        &[("credential_process", "c")],
        &[],
    )
    .unwrap();
    assert_eq!(
        edited.text,
        "[profile p]\nregion = r\ncredential_process = c\n"
    );
    let header_only = "[a]\nx = 1\n[profile p]";
    let edited = edit_section(header_only, "p", HeaderStyle::Config, &[("k", "v")], &[]).unwrap();
    assert_eq!(edited.text, "[a]\nx = 1\n[profile p]\nk = v\n");
}

#[test]
fn edit_of_a_missing_section_appends_or_does_nothing() {
    let before = "[a]\nx = 1\n";
    let edited = edit(before, "p", &[], &["aws_access_key_id"]);
    assert_eq!(edited.text, before);
    assert!(!edited.changed);
    let edited = edit(before, "p", &[("k", "v")], &[]);
    assert_eq!(edited.text, "[a]\nx = 1\n\n[p]\nk = v\n");
    assert!(edit_section(before, "p", HeaderStyle::Credentials, &[("k", "a\nb")], &[]).is_err());
    assert!(edit_section(" [p]\nk = v\n", "p", HeaderStyle::Credentials, &[], &["k"]).is_err());
}

// ---- text: byte preservation -------------------------------------------------------------

#[test]
fn replace_keeps_every_byte_outside_the_section() {
    let before = "# top comment\n; semicolon comment\n\n[default]   \nregion = eu-west-1  \n\n";
    let after = "# about staging\n[staging]\naws_access_key_id = AKIA1\n\t\n; end\n";
    let original = format!("{before}[prod]\nold = 1\n# inner\nolder = 2\n\n{after}");
    let out = upsert(&original, "prod", &[("k1", "v1"), ("k2", "v2")]);
    assert_eq!(
        out.text,
        format!("{before}[prod]\nk1 = v1\nk2 = v2\n\n{after}")
    );
    assert!(out.replaced);
    assert_eq!(out.duplicates, 0);
}

#[test]
fn crlf_file_stays_crlf_on_replace() {
    let original = "# c\r\n[a]\r\nx = 1\r\n\r\n[prod]\r\nold = 1\r\n\r\n[z]\r\ny = 2\r\n";
    let out = upsert(original, "prod", &[("k", "v")]);
    assert_eq!(
        out.text,
        "# c\r\n[a]\r\nx = 1\r\n\r\n[prod]\r\nk = v\r\n\r\n[z]\r\ny = 2\r\n"
    );
}

#[test]
fn crlf_file_stays_crlf_on_append() {
    let original = "[a]\r\nx = 1\r\n";
    let out = upsert(original, "new", &[("k", "v")]);
    assert_eq!(out.text, "[a]\r\nx = 1\r\n\r\n[new]\r\nk = v\r\n");
    assert!(!out.replaced);
}

#[test]
fn mixed_line_endings_use_the_dominant_one() {
    let original = "[a]\r\nx = 1\r\ny = 2\n";
    assert!(
        upsert(original, "b", &[("k", "v")])
            .text
            .ends_with("\r\n[b]\r\nk = v\r\n")
    );
    let original = "[a]\nx = 1\ny = 2\r\n";
    assert!(
        upsert(original, "b", &[("k", "v")])
            .text
            .ends_with("\n\n[b]\nk = v\n")
    );
}

#[test]
fn append_to_file_without_final_newline() {
    let original = "[a]\nx = 1   ";
    let out = upsert(original, "b", &[("k", "v")]);
    assert_eq!(out.text, "[a]\nx = 1   \n\n[b]\nk = v\n");
}

#[test]
fn append_after_trailing_blank_line_adds_no_second_blank() {
    let out = upsert("[a]\nx = 1\n\n", "b", &[("k", "v")]);
    assert_eq!(out.text, "[a]\nx = 1\n\n[b]\nk = v\n");
}

#[test]
fn replace_last_section_without_final_newline() {
    let out = upsert("[a]\nx = 1\n\n[prod]\nold = 1", "prod", &[("k", "v")]);
    assert_eq!(out.text, "[a]\nx = 1\n\n[prod]\nk = v\n");
    let out = upsert("[a]\nx = 1\n[prod]", "prod", &[("k", "v")]);
    assert_eq!(out.text, "[a]\nx = 1\n[prod]\nk = v\n");
}

#[test]
fn trailing_comment_without_newline_is_kept() {
    let out = upsert("[prod]\nold = 1\n# last words", "prod", &[("k", "v")]);
    assert_eq!(out.text, "[prod]\nk = v\n# last words");
}

#[test]
fn append_to_empty_text() {
    let out = upsert("", "prod", &[("a", "1"), ("b", "2")]);
    // A new file takes this system's line ending (CRLF on Windows, as the AWS CLI writes).
    let n = crate::os::fs::NATIVE_LINE_ENDING;
    assert_eq!(out.text, format!("[prod]{n}a = 1{n}b = 2{n}"));
    assert!(!out.replaced);
}

#[test]
fn keys_are_written_in_the_given_order() {
    let entries = [("zeta", "1"), ("alpha", "2"), ("mid", "3")];
    let out = upsert("", "p", &entries);
    let n = crate::os::fs::NATIVE_LINE_ENDING;
    assert_eq!(out.text, format!("[p]{n}zeta = 1{n}alpha = 2{n}mid = 3{n}"));
}

// ---- text: section matching ---------------------------------------------------------------

#[test]
fn header_with_inner_spaces_and_comment_is_replaced_in_place() {
    let original = "[a]\nx = 1\n  \t[ prod ]   # main account\nold = 1\n[b]\ny = 2\n";
    // Indented headers are refused; the same header unindented is matched and kept as is.
    assert!(matches!(
        upsert_section(original, "prod", HeaderStyle::Credentials, &[("k", "v")]),
        Err(WriteError::IndentedHeader { line: 3, .. })
    ));
    let original = "[a]\nx = 1\n[ prod ]   # main account\nold = 1\n[b]\ny = 2\n";
    let out = upsert(original, "prod", &[("k", "v")]);
    assert_eq!(
        out.text,
        "[a]\nx = 1\n[ prod ]   # main account\nk = v\n[b]\ny = 2\n"
    );
    let out = upsert("[\tprod\t];c\nold = 1\n", "prod", &[("k", "v")]);
    assert_eq!(out.text, "[\tprod\t];c\nk = v\n");
}

#[test]
fn indented_next_header_is_refused() {
    let original = "[prod]\nold = 1\n  [b]\ny = 2\n";
    let err = upsert_section(original, "prod", HeaderStyle::Credentials, &[("k", "v")])
        .expect_err("refused");
    assert!(
        matches!(err, WriteError::IndentedHeader { line: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("line 3"));
}

#[test]
fn writing_twice_never_duplicates() {
    let first = upsert("[a]\nx = 1\n", "prod", &[("k", "v1")]);
    let second = upsert(&first.text, "prod", &[("k", "v2")]);
    assert!(second.replaced);
    assert_eq!(second.text, "[a]\nx = 1\n\n[prod]\nk = v2\n");
    assert_eq!(second.text.matches("[prod]").count(), 1);
    let third = upsert(&second.text, "prod", &[("k", "v2")]);
    assert_eq!(third.text, second.text);
}

#[test]
fn comments_before_next_header_belong_to_next_section() {
    let original = "[prod]\nold = 1\n; old note\n\n# staging account\n[staging]\ny = 2\n";
    let out = upsert(original, "prod", &[("k", "v")]);
    assert_eq!(
        out.text,
        "[prod]\nk = v\n; old note\n\n# staging account\n[staging]\ny = 2\n"
    );
    // An indented comment is a continuation line for the SDK, so it goes with the old body.
    let out = upsert("[prod]\nold = 1\n  # more\n[s]\n", "prod", &[("k", "v")]);
    assert_eq!(out.text, "[prod]\nk = v\n[s]\n");
}

#[test]
fn duplicates_first_is_replaced_rest_untouched_and_counted() {
    let original = "[prod]\nold = 1\n[x]\n[prod]\nold = 2\n[ prod ]\nold = 3\n";
    let out = upsert(original, "prod", &[("k", "v")]);
    assert_eq!(
        out.text,
        "[prod]\nk = v\n[x]\n[prod]\nold = 2\n[ prod ]\nold = 3\n"
    );
    assert_eq!(out.duplicates, 2);
}

#[test]
fn names_are_matched_exactly() {
    let original = "[prod-eu]\na = 1\n[PROD]\nb = 2\n[profile prod]\nc = 3\n[prod\nd = 4\n";
    assert_eq!(
        find_section(original, "prod", HeaderStyle::Credentials),
        None
    );
    let out = upsert(original, "prod", &[("k", "v")]);
    assert!(!out.replaced);
    assert!(out.text.starts_with(original));
}

#[test]
fn malformed_header_ends_the_section_but_never_matches() {
    let original = "[prod]\nold = 1\n[broken\nkeep = me\n";
    let out = upsert(original, "prod", &[("k", "v")]);
    assert_eq!(out.text, "[prod]\nk = v\n[broken\nkeep = me\n");
}

#[test]
fn config_style_headers() {
    let original = "[default]\nregion = a\n[prod]\nx = 1\n[profile prod]\ny = 2\n";
    let range = find_section(original, "prod", HeaderStyle::Config).expect("found");
    assert_eq!(&original[range], "[profile prod]\ny = 2\n");
    let range = find_section(original, "prod", HeaderStyle::Credentials).expect("found");
    assert_eq!(&original[range], "[prod]\nx = 1\n");

    let out = upsert_section(original, "prod", HeaderStyle::Config, &[("k", "v")]).expect("ok");
    assert_eq!(
        out.text,
        "[default]\nregion = a\n[prod]\nx = 1\n[profile prod]\nk = v\n"
    );
    let n = crate::os::fs::NATIVE_LINE_ENDING;
    let out = upsert_section("", "dev", HeaderStyle::Config, &[("k", "v")]).expect("ok");
    assert_eq!(out.text, format!("[profile dev]{n}k = v{n}"));
    let out = upsert_section("", "default", HeaderStyle::Config, &[("k", "v")]).expect("ok");
    assert_eq!(out.text, format!("[default]{n}k = v{n}"));
    let out = upsert_section(original, "default", HeaderStyle::Config, &[("k", "v")]).expect("ok");
    assert!(out.replaced);
    assert!(out.text.starts_with("[default]\nk = v\n[prod]"));
}

#[test]
fn config_style_prefers_profile_default() {
    let original = "[default]\na = 1\n[profile   default]\nb = 2\n";
    let out = upsert_section(original, "default", HeaderStyle::Config, &[("k", "v")]).expect("ok");
    assert_eq!(out.text, "[default]\na = 1\n[profile   default]\nk = v\n");
    assert_eq!(out.duplicates, 1);
}

#[test]
fn find_section_ranges() {
    let text = "[a]\nx = 1\n\n# about b\n[b]\ny = 2\n; tail\n";
    assert_eq!(
        find_section(text, "a", HeaderStyle::Credentials),
        Some(0..10)
    );
    assert_eq!(
        &text[find_section(text, "b", HeaderStyle::Credentials).expect("b")],
        "[b]\ny = 2\n"
    );
    assert_eq!(find_section(text, "c", HeaderStyle::Credentials), None);
    assert_eq!(
        find_section("[e]\n# only a comment\n", "e", HeaderStyle::Credentials),
        Some(0..4)
    );
    assert_eq!(
        find_section("\u{e9}[\u{e9}]", "x", HeaderStyle::Credentials),
        None
    );
}

// ---- text: long-term keys -----------------------------------------------------------------

#[test]
fn long_term_keys_are_detected() {
    let entries = [("k", "v")];
    let long_term = "[p]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
    assert!(upsert(long_term, "p", &entries).previous_was_long_term);
    let shouting = "[p]\n  AWS_Access_Key_ID\t= AKIA\n";
    // Indented: a continuation line, not a key, for the SDK.
    assert!(!upsert(shouting, "p", &entries).previous_was_long_term);
    let shouting = "[p]\nAWS_ACCESS_KEY_ID\t=AKIA\n";
    assert!(upsert(shouting, "p", &entries).previous_was_long_term);
    let session = "[p]\naws_access_key_id = ASIA\naws_session_token = t\n";
    assert!(!upsert(session, "p", &entries).previous_was_long_term);
    let legacy = "[p]\naws_access_key_id = ASIA\n Aws_Security_Token = t\n";
    assert!(upsert(legacy, "p", &entries).previous_was_long_term);
    let legacy = "[p]\naws_access_key_id = ASIA\nAws_Security_Token = t\n";
    assert!(!upsert(legacy, "p", &entries).previous_was_long_term);
    let commented = "[p]\n# aws_access_key_id = AKIA\nregion = x\n";
    assert!(!upsert(commented, "p", &entries).previous_was_long_term);
    let elsewhere = "[p]\nregion = x\n[q]\naws_access_key_id = AKIA\n";
    assert!(!upsert(elsewhere, "p", &entries).previous_was_long_term);
}

// ---- validation ---------------------------------------------------------------------------

#[test]
fn invalid_profile_names_are_refused() {
    for name in [
        "",
        " prod",
        "prod ",
        "a b",
        "a\tb",
        "[a",
        "a]",
        "a#b",
        "a;b",
        "a\rb",
        "a\nb",
        "a=b",
        "caf\u{e9}",
        "a\u{a0}b",
        "profile a",
    ] {
        let err = validate_profile_name(name).expect_err(name);
        assert!(
            matches!(err, WriteError::InvalidProfileName { .. }),
            "{name:?}"
        );
        assert!(upsert_section("", name, HeaderStyle::Credentials, &[("k", "v")]).is_err());
    }
    for name in ["default", "prod", "a:b/c%d.e@f+g_h-i", "123", "profile"] {
        validate_profile_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn invalid_keys_are_refused() {
    for key in ["", " k", "k ", "a b", "a=b", "a:b", "a#b", "a[b", "k\n"] {
        let result = upsert_section("", "p", HeaderStyle::Credentials, &[(key, "v")]);
        assert!(
            matches!(result, Err(WriteError::InvalidKey { .. })),
            "{key:?}"
        );
    }
    let result = upsert_section("", "p", HeaderStyle::Credentials, &[("k", "1"), ("K", "2")]);
    assert!(matches!(result, Err(WriteError::InvalidKey { .. })));
    let result = upsert_section("", "p", HeaderStyle::Credentials, &[]);
    assert!(matches!(result, Err(WriteError::NoEntries { .. })));
}

#[test]
fn invalid_values_are_refused_without_showing_them() {
    // `S` stands for a secret that must never show up in the error.
    for template in [
        "",
        " S",
        "S ",
        "\tS",
        "S\rb",
        "S\nb",
        "S\r\nb",
        "S\tb",
        "#S",
        ";S",
        "S #b",
        "S ;b",
        "S\u{a0}#b",
        "S\u{a0}",
        "\u{2003}S",
        "S\0",
    ] {
        let secret_value = template.replace('S', SECRET);
        let value = secret_value.as_str();
        let result = upsert_section("", "p", HeaderStyle::Credentials, &[("key", value)]);
        let Err(err) = result else {
            panic!("value {value:?} was accepted");
        };
        assert!(
            matches!(err, WriteError::InvalidValue { .. }),
            "{value:?}: {err:?}"
        );
        assert!(!err.to_string().contains(SECRET));
        assert!(!format!("{err:?}").contains(SECRET));
    }
    for value in ["a#b", "a;b", "x=y==", "tok/en+", "a b", "\u{e9}t\u{e9}"] {
        upsert_section("", "p", HeaderStyle::Credentials, &[("key", value)])
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
    }
}

#[test]
fn debug_output_redacts_values() {
    let request = WriteRequest::new(Path::new("/x"), "p", SESSION);
    let shown = format!("{request:?}");
    assert!(shown.contains("aws_secret_access_key"));
    assert!(!shown.contains(SECRET));
    let upserted = upsert("", "p", SESSION);
    assert!(upserted.text.contains(SECRET));
    assert!(!format!("{upserted:?}").contains(SECRET));
}

// ---- properties ---------------------------------------------------------------------------

fn line_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[p]".to_owned()),
        Just("[ p ]  # c".to_owned()),
        Just("[q]".to_owned()),
        Just("[profile p]".to_owned()),
        Just("[p".to_owned()),
        Just("".to_owned()),
        Just("   ".to_owned()),
        Just("# comment".to_owned()),
        Just("; other".to_owned()),
        Just("  continued".to_owned()),
        Just("aws_access_key_id = AKIA".to_owned()),
        Just("aws_session_token=t".to_owned()),
        "[a-z_]{1,8} = [ -~]{0,10}",
        "\\PC{0,12}",
    ]
}

fn file_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((line_strategy(), any::<bool>()), 0..12),
        any::<bool>(),
    )
        .prop_map(|(lines, final_eol)| {
            let mut text = String::new();
            let count = lines.len();
            for (index, (line, crlf)) in lines.into_iter().enumerate() {
                text.push_str(&line);
                if index + 1 < count || final_eol {
                    text.push_str(if crlf { "\r\n" } else { "\n" });
                }
            }
            text
        })
}

/// Keys and values of the section at `range`, read the way the SDK reads them.
fn read_section(text: &str, range: Range<usize>) -> Vec<(String, String)> {
    lines(&text[range])
        .skip(1)
        .filter(|line| !is_blank(line.content) && !is_comment(line.content))
        .map(|line| {
            let (key, value) = line.content.split_once('=').expect("property line");
            (key.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

#[test]
fn remove_section_keeps_every_other_byte() {
    let text = "# top\r\n[a]\r\nk = 1\r\n\r\n[profile b] ; note\r\nk = 2\r\n# inside\r\nj = 3\r\n\r\n\r\n# about c\r\n[profile c]\r\nk = 3";
    let out = remove_section(text, "b", HeaderStyle::Config)
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        "# top\r\n[a]\r\nk = 1\r\n\r\n# about c\r\n[profile c]\r\nk = 3"
    );
    let out = remove_section(text, "c", HeaderStyle::Config)
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        "# top\r\n[a]\r\nk = 1\r\n\r\n[profile b] ; note\r\nk = 2\r\n# inside\r\nj = 3\r\n\r\n\r\n# about c\r\n"
    );
    assert_eq!(
        remove_section(text, "zz", HeaderStyle::Config).unwrap(),
        None
    );
    assert!(matches!(
        remove_section("[a]\nk = 1\n  [b]\n", "a", HeaderStyle::Credentials),
        Err(WriteError::IndentedHeader { line: 3, .. })
    ));
}

#[test]
fn removing_then_appending_gives_the_same_bytes() {
    let text = "[profile a]\nk = 1\n\n[profile b]\nk = 2\n";
    let removed = remove_section(text, "b", HeaderStyle::Config)
        .unwrap()
        .unwrap();
    assert_eq!(removed, "[profile a]\nk = 1\n\n");
    let back = upsert_section(&removed, "b", HeaderStyle::Config, &[("k", "2")]).unwrap();
    assert_eq!(back.text, text);
}

#[test]
fn section_entries_read_keys_as_the_sdk() {
    let text =
        "[profile x]\nSSO_Session = corp \n# c\n  continued\nregion=eu-west-1\n[profile y]\n";
    assert_eq!(
        section_entries(text, "x", HeaderStyle::Config),
        Some(vec![
            ("sso_session".to_string(), "corp".to_string()),
            ("region".to_string(), "eu-west-1".to_string())
        ])
    );
    assert_eq!(
        section_entries(text, "y", HeaderStyle::Config),
        Some(vec![])
    );
    assert_eq!(section_entries(text, "z", HeaderStyle::Config), None);
    assert_eq!(
        section_names(
            "[default]\n[profile a]\n[sso-session s]\n[b]\n",
            HeaderStyle::Config
        ),
        vec!["default", "a"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*|[\\[\\]#; \t\r\nab=]*") {
        let _ = find_section(&text, "ab", HeaderStyle::Credentials);
        let _ = upsert_section(&text, "ab", HeaderStyle::Config, &[("k", "v")]);
        let _ = upsert_section(&text, "ab", HeaderStyle::Credentials, &[("k", "v")]);
    }

    #[test]
    fn upsert_preserves_outside_bytes_and_reads_back(
        original in file_strategy(),
        values in prop::collection::vec("[A-Za-z0-9/+=]{1,12}", 1..4),
    ) {
        let keys = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region"];
        let entries: Vec<(&str, &str)> =
            keys.iter().copied().zip(values.iter().map(String::as_str)).collect();
        let before = locate(&original, "p", HeaderStyle::Credentials);
        let result = upsert_section(&original, "p", HeaderStyle::Credentials, &entries);
        let out = match (&before, result) {
            (Some(found), Err(WriteError::IndentedHeader { .. })) => {
                prop_assert!(found.header_indented || found.indented_next_header.is_some());
                return Ok(());
            }
            (_, Err(err)) => return Err(TestCaseError::fail(format!("unexpected {err}"))),
            (_, Ok(out)) => out,
        };
        let after = find_section(&out.text, "p", HeaderStyle::Credentials).expect("section present");
        match &before {
            Some(found) => {
                prop_assert!(out.replaced);
                prop_assert_eq!(&out.text[..found.section.start], &original[..found.section.start]);
                prop_assert_eq!(&out.text[after.end..], &original[found.section.end..]);
                prop_assert_eq!(out.duplicates, found.duplicates);
            }
            None => {
                prop_assert!(!out.replaced);
                prop_assert!(out.text.starts_with(&original));
            }
        }
        let expected: Vec<(String, String)> =
            entries.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        prop_assert_eq!(read_section(&out.text, after), expected);
        let again = upsert_section(&out.text, "p", HeaderStyle::Credentials, &entries).expect("second write");
        prop_assert_eq!(again.text, out.text);
    }
}
