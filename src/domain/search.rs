//! Search normalization, shared by both storage backends so that SQLite FTS5
//! and PostgreSQL full text see the very same words: lower-case ASCII with
//! accents folded (é → e), anything else a separator.

use super::catalogue::fold_latin;

/// At most this many words of a query are used.
pub const MAX_TERMS: usize = 8;

/// Normalizes text into space-separated words.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let c = fold_latin(ch);
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

/// The searchable document of an event.
pub fn document(parts: &[&str]) -> String {
    normalize(&parts.join(" "))
}

/// The words of a query: normalized, at most [`MAX_TERMS`], each at most 40
/// characters. Every word must match; the last one matches as a prefix.
pub fn terms(query: &str) -> Vec<String> {
    normalize(query)
        .split(' ')
        .filter(|t| !t.is_empty())
        .take(MAX_TERMS)
        .map(|t| t.chars().take(40).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_and_punctuation_fold_away() {
        assert_eq!(
            normalize("Gamelan Soirée — KRATON!"),
            "gamelan soiree kraton"
        );
        assert_eq!(terms("  Café,  Jazz night "), vec!["cafe", "jazz", "night"]);
        assert!(terms("!!!").is_empty());
        assert_eq!(terms(&"a ".repeat(20)).len(), MAX_TERMS);
    }
}
