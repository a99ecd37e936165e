//! The two ways a browser sign-in ends without a code, said once for both flows: the
//! authorization server's `error` redirect ([`denied`]), and no right answer before the
//! deadline ([`no_answer`]). Each flow gives only its own next step.

use crate::auth::callback::OAuthError;
use crate::base::error::Problem;
use crate::base::text::escape;
use crate::os::callback::NoAnswer;

/// The browser came back with the server's `error` (untrusted text, escaped). `retry` is the
/// flow's next step.
pub(crate) fn denied(error: &OAuthError, retry: &str) -> anyhow::Error {
    let detail = match &error.description {
        Some(description) => format!("{}: {}", escape(&error.error), escape(description)),
        None => escape(&error.error).into_owned(),
    };
    Problem::failure(format!(
        "the sign-in did not complete: {} ({detail})",
        error.in_words()
    ))
    .hint(retry.to_string())
    .into()
}

/// No right answer before the deadline: a timeout, unless answers with another `state` came
/// (refused: another program's, or a tampered redirect), which is said instead. `retry` is the
/// flow's next step after a timeout.
pub(crate) fn no_answer(refused: NoAnswer, retry: &str) -> anyhow::Error {
    if refused.wrong_state > 0 {
        return Problem::failure(format!(
            "the browser's answer carried another state than this login sent (state mismatch): {} such answer(s) refused, nothing was saved, and no answer for this login came before the timeout",
            refused.wrong_state
        ))
        .hint("run the login again; if this repeats, another program is answering on the loopback callback")
        .into();
    }
    Problem::expired(format!(
        "no answer from the browser before the login timed out{}",
        refused.other_users()
    ))
    .hint(retry.to_string())
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::{Exit, classify};

    #[test]
    fn a_refusal_and_a_timeout_are_told_apart() {
        let err = denied(
            &OAuthError {
                error: "access_denied".into(),
                description: Some("no \u{1b}[31m".into()),
            },
            "try again",
        );
        let text = format!("{err:#}");
        assert!(
            text.contains("access_denied: no ") && !text.contains('\u{1b}'),
            "{text}"
        );
        assert_eq!(classify(&err), (Exit::Failure, Some("try again")));
        let timeout = no_answer(NoAnswer::default(), "log in again");
        assert_eq!(classify(&timeout).0, Exit::Expired);
        assert_eq!(classify(&timeout).1, Some("log in again"));
        let forged = no_answer(
            NoAnswer {
                wrong_state: 2,
                ..NoAnswer::default()
            },
            "log in again",
        );
        assert!(format!("{forged:#}").contains("2 such answer(s) refused"));
        assert_eq!(classify(&forged).0, Exit::Failure);
    }
}
