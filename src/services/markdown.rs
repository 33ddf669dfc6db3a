//! Markdown written by organizers (descriptions, terms), rendered to HTML
//! that can never carry script: CommonMark → HTML → an allow-list sanitizer.
//! Only http(s) and mailto links survive, links get `rel="noopener
//! noreferrer nofollow"`, and images are dropped (the CSP would block foreign
//! ones anyway).

use std::{collections::HashSet, sync::OnceLock};

/// Renders untrusted Markdown to safe HTML.
pub fn to_safe_html(markdown: &str) -> String {
    let parser =
        pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    let mut raw = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut raw, parser);
    sanitizer().clean(&raw).to_string()
}

/// The text of untrusted Markdown, without markup, for print (ticket terms):
/// paragraphs and list items on their own lines, links as their text, HTML
/// tags dropped (their text kept: it is printed, never run).
pub fn to_plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Tag, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    for event in pulldown_cmark::Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Item) => out.push_str("• "),
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::Heading(_)) => out.push('\n'),
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static CLEAN: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let tags: HashSet<&str> = [
            "p",
            "br",
            "strong",
            "em",
            "del",
            "a",
            "ul",
            "ol",
            "li",
            "blockquote",
            "code",
            "pre",
            "h1",
            "h2",
            "h3",
            "h4",
            "hr",
        ]
        .into_iter()
        .collect();
        let mut b = ammonia::Builder::default();
        b.tags(tags)
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("noopener noreferrer nofollow"))
            .strip_comments(true);
        b
    })
}

#[cfg(test)]
mod plain_tests {
    #[test]
    fn plain_text_keeps_words_and_drops_markup() {
        assert_eq!(
            super::to_plain_text(
                "**No** refunds.\n\n- Bring ID\n- [Map](https://x.test) <b>here</b>"
            ),
            "No refunds.\n• Bring ID\n• Map here"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_keeps_formatting_and_drops_script() {
        assert_eq!(
            to_safe_html("**Bold** and _it_"),
            "<p><strong>Bold</strong> and <em>it</em></p>\n"
        );
        for evil in [
            "<script>alert(1)</script>",
            "[x](javascript:alert(1))",
            "<img src=x onerror=alert(1)>",
            "<svg onload=alert(1)>",
            "<a href=\"jav&#x61;script:alert(1)\">x</a>",
            "<iframe src=//evil.example>",
        ] {
            let html = to_safe_html(evil);
            assert!(
                !html.contains("script:")
                    && !html.contains("<script")
                    && !html.contains("onerror")
                    && !html.contains("onload")
                    && !html.contains("<iframe")
                    && !html.contains("<svg"),
                "{evil} → {html}"
            );
        }
        assert!(
            to_safe_html("[site](https://example.com)")
                .contains("rel=\"noopener noreferrer nofollow\"")
        );
    }
}
