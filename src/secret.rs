//! A string that must never be printed: tokens, client secrets. Its `Debug` is redacted and
//! `expose()` marks each place the value leaves (a request, a cache file).

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("aoaAAAAAGx0dG9rZW4");
        assert!(!format!("{s:?}").contains("aoa"));
        assert_eq!(s.expose(), "aoaAAAAAGx0dG9rZW4");
    }
}
