//! Bearer tokens: `--token` (every servicePrincipal) and `--tokens-file` lines of
//! `token servicePrincipalId|*`. Compared in constant time; never logged.

use subtle::ConstantTimeEq;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    ServicePrincipal(String),
}

#[derive(Clone, Default)]
pub struct Tokens(Vec<(Vec<u8>, Scope)>);

/// A tokens file line that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: expected `token servicePrincipalId` or `token *`")]
pub struct TokensFileError {
    pub path: String,
    pub line: usize,
}

impl Tokens {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, token: &str, scope: Scope) {
        self.0.push((token.as_bytes().to_vec(), scope));
    }

    /// Parses a tokens file (blank lines and `#` comments allowed).
    pub fn parse_file(path: &str, text: &str) -> Result<Self, TokensFileError> {
        let mut t = Self::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(token), Some(sp), None) => t.add(
                    token,
                    if sp == "*" {
                        Scope::All
                    } else {
                        Scope::ServicePrincipal(sp.to_string())
                    },
                ),
                _ => {
                    return Err(TokensFileError {
                        path: path.to_string(),
                        line: i + 1,
                    });
                }
            }
        }
        Ok(t)
    }

    /// The configured tokens and their scopes.
    pub fn entries(&self) -> Vec<(String, Scope)> {
        self.0
            .iter()
            .map(|(t, s)| (String::from_utf8_lossy(t).into_owned(), s.clone()))
            .collect()
    }

    /// The scope of `token`, comparing against every configured token in constant time.
    pub fn scope(&self, token: &str) -> Option<Scope> {
        let mut found = None;
        for (t, scope) in &self.0 {
            if bool::from(t.as_slice().ct_eq(token.as_bytes())) && found.is_none() {
                found = Some(scope.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file() {
        let t = Tokens::parse_file("f", "# ops\nabc *\n\ndef sp-1\n").unwrap();
        assert_eq!(t.scope("abc"), Some(Scope::All));
        assert_eq!(t.scope("def"), Some(Scope::ServicePrincipal("sp-1".into())));
        assert_eq!(t.scope("de"), None);
        assert!(Tokens::parse_file("f", "lonely\n").is_err());
    }
}
