//! What may be written: profile names, keys and values that read back unchanged through the AWS
//! profile parsers (see "What is refused" in the module docs).

use super::WriteError;
use super::sections::COMMENT;

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '%' | '@' | ':' | '+')
}

fn describe_bad_char(c: char) -> String {
    match c {
        c if c.is_whitespace() => "contains whitespace".to_owned(),
        '[' | ']' => "contains a bracket".to_owned(),
        '#' | ';' => "contains a comment character".to_owned(),
        c if c.is_control() => "contains a control character".to_owned(),
        c => format!("contains {c:?}"),
    }
}

/// Refuses names the AWS profile parsers would not read back as the same profile.
///
/// # Errors
/// [`WriteError::InvalidProfileName`] with the reason.
pub fn validate_profile_name(name: &str) -> Result<(), WriteError> {
    let reason = if name.is_empty() {
        Some("it is empty".to_owned())
    } else {
        name.chars()
            .find(|c| !is_identifier_char(*c))
            .map(describe_bad_char)
    };
    match reason {
        Some(reason) => Err(WriteError::InvalidProfileName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

pub(super) fn validate_key(key: &str) -> Result<(), WriteError> {
    let reason = if key.is_empty() {
        Some("it is empty".to_owned())
    } else {
        key.chars()
            .find(|c| *c == ':' || !is_identifier_char(*c))
            .map(|c| match c {
                ':' | '=' => "contains a separator (= or :)".to_owned(),
                c => describe_bad_char(c),
            })
    };
    match reason {
        Some(reason) => Err(WriteError::InvalidKey {
            key: key.to_owned(),
            reason: format!("{reason}; keys use only letters, digits and _ - / . % @ +"),
        }),
        None => Ok(()),
    }
}

fn value_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("is empty");
    }
    if value.chars().any(char::is_control) {
        return Some("contains a control character (such as a line break or tab)");
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Some("has leading or trailing whitespace");
    }
    if value.starts_with(COMMENT) {
        return Some("starts with a comment character (# or ;)");
    }
    let mut previous_was_space = false;
    for c in value.chars() {
        if previous_was_space && COMMENT.contains(&c) {
            return Some("contains whitespace followed by # or ;, which starts a comment");
        }
        previous_was_space = c.is_whitespace();
    }
    None
}

pub(super) fn validate_entries(profile: &str, entries: &[(&str, &str)]) -> Result<(), WriteError> {
    if entries.is_empty() {
        return Err(WriteError::NoEntries {
            profile: profile.to_owned(),
        });
    }
    for (index, (key, value)) in entries.iter().enumerate() {
        validate_key(key)?;
        let repeated = entries
            .iter()
            .take(index)
            .any(|(earlier, _)| earlier.eq_ignore_ascii_case(key));
        if repeated {
            return Err(WriteError::InvalidKey {
                key: (*key).to_owned(),
                reason: "it is given twice (keys are case-insensitive)".to_owned(),
            });
        }
        if let Some(reason) = value_problem(value) {
            return Err(WriteError::InvalidValue {
                key: (*key).to_owned(),
                reason,
            });
        }
    }
    Ok(())
}
