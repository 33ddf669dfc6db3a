//! Account rules: email addresses, the password policy, display names.

use serde::{Deserialize, Serialize};

/// A syntactically valid, lower-cased email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailAddress(String);

/// Why an email address was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("enter a valid email address, like name@example.com")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Parses an address: trimmed, lower-cased, one `@`, a dot in the
    /// domain, no spaces or control characters, at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let s = raw.trim().to_lowercase();
        let (local, domain) = s.split_once('@').ok_or(InvalidEmail)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && s.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !s.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
            });
        if ok { Ok(Self(s)) } else { Err(InvalidEmail) }
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a password lacks under the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeakPassword {
    /// Each missing requirement, in words.
    pub missing: Vec<&'static str>,
}

impl std::fmt::Display for WeakPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the password needs {}", self.missing.join(", "))
    }
}

impl std::error::Error for WeakPassword {}

/// The password policy: at least 8 characters with an upper-case letter, a
/// lower-case letter, a digit and a symbol; at most 128 characters (hashing
/// cost is bounded). The error lists exactly what is missing.
pub fn check_password(password: &str) -> Result<(), WeakPassword> {
    let mut missing = Vec::new();
    let len = password.chars().count();
    if len < 8 {
        missing.push("at least 8 characters");
    }
    if len > 128 {
        missing.push("at most 128 characters");
    }
    if !password.chars().any(char::is_uppercase) {
        missing.push("an upper-case letter");
    }
    if !password.chars().any(char::is_lowercase) {
        missing.push("a lower-case letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        missing.push("a digit");
    }
    if !password
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        missing.push("a symbol such as ! or #");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WeakPassword { missing })
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("enter your name");
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("the name must be at most 100 characters, without control characters");
    }
    Ok(name.to_owned())
}

/// A 6-digit code typed by a person: spaces and dashes are ignored.
pub fn parse_code(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// A phone number as typed: spaces, dashes, dots and parentheses are
/// ignored; an optional leading `+`, then 7 to 15 digits (E.164's bound).
/// Empty means "no phone number".
pub fn parse_phone(raw: &str) -> Result<Option<String>, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(r) => ("+", r),
        None => ("", trimmed),
    };
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(Some(format!("{plus}{digits}")))
    } else {
        Err("enter a phone number of 7 to 15 digits, like +62 812 3456 7890")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_exactly_what_is_missing() {
        assert_eq!(check_password("Str0ng!pass"), Ok(()));
        let e = check_password("short").unwrap_err();
        assert_eq!(
            e.missing,
            vec![
                "at least 8 characters",
                "an upper-case letter",
                "a digit",
                "a symbol such as ! or #"
            ]
        );
        assert_eq!(
            check_password("ALLUPPER1!").unwrap_err().missing,
            vec!["a lower-case letter"]
        );
        assert_eq!(
            e.to_string(),
            "the password needs at least 8 characters, an upper-case letter, a digit, a symbol such as ! or #"
        );
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Budi@Example.COM ").unwrap().as_str(),
            "budi@example.com"
        );
        for bad in [
            "",
            "nobody",
            "a@b",
            "a@.com",
            "a b@c.com",
            "a@b.com<script>",
            "@x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_numbers_keep_digits_and_a_leading_plus() {
        assert_eq!(
            parse_phone(" +62 (812) 3456-7890 "),
            Ok(Some("+6281234567890".into()))
        );
        assert_eq!(parse_phone(""), Ok(None));
        assert!(parse_phone("12345").is_err());
        assert!(parse_phone("+62 812 abc").is_err());
        assert!(parse_phone("1234567890123456").is_err());
    }

    #[test]
    fn codes_ignore_spaces_and_dashes() {
        assert_eq!(parse_code(" 123-456 "), Some("123456".into()));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(parse_code("12345a"), None);
    }
}
