//! Turns the raw bytes of a learner's source (a file or a fetched URL) into
//! plain text that can be chunked and indexed.
//!
//! This module is pure: no I/O, no global state, no logging. Its guarantees:
//!
//! - It never panics, whatever the bytes. PDF parsing goes through
//!   `pdf-extract`, which is known to panic on odd files, so that call (and the
//!   HTML renderer, which we cannot audit either) runs under `catch_unwind`.
//! - Successful results always hold non-blank text, trimmed at both ends, with
//!   `\n` line endings. A document that yields nothing but whitespace is
//!   [`ExtractError::Empty`], so callers never index an empty source.
//! - Text formats are strict UTF-8. We do not guess at legacy charsets: a wrong
//!   guess would silently index mojibake, while an error lets the user re-save
//!   the file as UTF-8 and knows why it failed.

use std::panic::{self, AssertUnwindSafe};

/// What kind of document a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// Plain text.
    Text,
    /// Markdown, indexed as its source text.
    Markdown,
    /// A PDF document.
    Pdf,
    /// An HTML page.
    Html,
}

impl DocKind {
    /// Kind from a file extension (case-insensitive, without the dot):
    /// txt/text → Text; md/markdown/mdown → Markdown; pdf → Pdf;
    /// html/htm/xhtml → Html. `None` for anything else.
    pub fn from_extension(ext: &str) -> Option<DocKind> {
        match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => Some(DocKind::Text),
            "md" | "markdown" | "mdown" => Some(DocKind::Markdown),
            "pdf" => Some(DocKind::Pdf),
            "html" | "htm" | "xhtml" => Some(DocKind::Html),
            _ => None,
        }
    }

    /// Kind from an HTTP Content-Type header value, ignoring parameters such
    /// as `charset`: text/plain → Text; text/markdown, text/x-markdown →
    /// Markdown; application/pdf → Pdf; text/html, application/xhtml+xml →
    /// Html. `None` otherwise.
    pub fn from_content_type(ct: &str) -> Option<DocKind> {
        let essence = ct.split_once(';').map_or(ct, |(essence, _)| essence);
        match essence.trim().to_ascii_lowercase().as_str() {
            "text/plain" => Some(DocKind::Text),
            "text/markdown" | "text/x-markdown" => Some(DocKind::Markdown),
            "application/pdf" => Some(DocKind::Pdf),
            "text/html" | "application/xhtml+xml" => Some(DocKind::Html),
            _ => None,
        }
    }

    /// Stable lowercase name, suitable for storage: "text", "markdown",
    /// "pdf", "html".
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Text => "text",
            DocKind::Markdown => "markdown",
            DocKind::Pdf => "pdf",
            DocKind::Html => "html",
        }
    }
}

/// Why a document's bytes could not be turned into text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// A text, Markdown or HTML document contains NUL bytes, so it is almost
    /// certainly not text at all (an image, an archive, a UTF-16 file...).
    #[error("binary content")]
    Binary,
    /// A text, Markdown or HTML document is not valid UTF-8; `offset` is the
    /// byte offset of the first invalid byte.
    #[error("not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid byte in the input.
        offset: usize,
    },
    /// The document was readable but held nothing but whitespace.
    #[error("no text")]
    Empty,
    /// The bytes are not a PDF, or the PDF parser failed (or panicked).
    #[error("unreadable PDF: {reason}")]
    Pdf {
        /// Human-readable cause, for logs and the user.
        reason: String,
    },
}

/// The text of a document and the title found inside it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Plain text: non-blank, trimmed, `\n` line endings.
    pub text: String,
    /// Title declared by the document itself (Markdown `# ...` heading, HTML
    /// `<title>` or first `<h1>`); trimmed and never empty when present.
    pub title: Option<String>,
}

/// Extracts plain text from a document's bytes.
///
/// Never panics. See [`ExtractError`] for the ways it can refuse.
pub fn extract(kind: DocKind, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let (text, title) = match kind {
        DocKind::Text => (decode_text(bytes)?, None),
        DocKind::Markdown => {
            let text = decode_text(bytes)?;
            let title = markdown_title(&text);
            (text, title)
        }
        DocKind::Html => extract_html(bytes)?,
        DocKind::Pdf => (extract_pdf(bytes)?, None),
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(ExtractError::Empty);
    }
    let title = title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    Ok(Extracted {
        text: text.to_owned(),
        title,
    })
}

/// Width handed to html2text. Wide enough that ordinary prose lines are not
/// wrapped mid-sentence, which would otherwise put line breaks into the middle
/// of quoted passages.
const HTML_WIDTH: usize = 100;

/// Width used when rendering a title: titles are collapsed to one line anyway,
/// so wrapping would only risk breaking a long word in two.
const TITLE_WIDTH: usize = 1_000;

/// Strict UTF-8 decoding shared by every text-like format.
fn decode_utf8(bytes: &[u8]) -> Result<&str, ExtractError> {
    // NUL first: a binary file is usually also invalid UTF-8, and "binary
    // content" is the more useful thing to tell the user.
    if bytes.contains(&0) {
        return Err(ExtractError::Binary);
    }
    // Validate before stripping the BOM so the offset refers to the bytes the
    // caller actually has.
    let text = std::str::from_utf8(bytes).map_err(|e| ExtractError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn decode_text(bytes: &[u8]) -> Result<String, ExtractError> {
    decode_utf8(bytes).map(normalize_newlines)
}

fn normalize_newlines(text: &str) -> String {
    // CRLF first, so a Windows line ending becomes one newline, not two.
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The first level-1 ATX heading (`# Title`), following CommonMark closely
/// enough that `#hashtag` lines and `# comments` inside fenced code blocks do
/// not become titles.
fn markdown_title(text: &str) -> Option<String> {
    let mut fence: Option<(char, usize)> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        // Four spaces of indentation make an indented code block, not markup.
        if indent > 3 {
            continue;
        }
        let line = &line[indent..];
        if let Some(marker) = fence_marker(line) {
            fence = match fence {
                None => Some(marker),
                // A fence closes only with the same character, at least as long.
                Some((c, n)) if marker.0 == c && marker.1 >= n => None,
                open => open,
            };
            continue;
        }
        if fence.is_some() {
            continue;
        }
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            // "#tag" or "## Sub": not a level-1 heading.
            continue;
        }
        let title = strip_closing_hashes(rest.trim());
        if !title.is_empty() {
            return Some(title.to_owned());
        }
    }
    None
}

/// Recognises a code fence opener/closer (three or more backticks or tildes).
fn fence_marker(line: &str) -> Option<(char, usize)> {
    let c = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = line.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n))
}

/// `# Title ##` → `Title`; the closing run only counts after whitespace, so
/// `# C#` keeps its hash.
fn strip_closing_hashes(s: &str) -> &str {
    let without = s.trim_end_matches('#');
    if without.is_empty() {
        return without;
    }
    if without.len() == s.len() || without.ends_with([' ', '\t']) {
        without.trim_end()
    } else {
        s
    }
}

fn extract_html(bytes: &[u8]) -> Result<(String, Option<String>), ExtractError> {
    // No charset sniffing (<meta charset>, BOMs other than UTF-8): the web is
    // overwhelmingly UTF-8 today, and guessing wrong would index mojibake.
    let html = decode_utf8(bytes)?;
    // html2text is a large third-party renderer; a panic inside it must not
    // take the daemon down, so fall back to a crude tag stripper instead.
    let rendered = panic::catch_unwind(AssertUnwindSafe(|| render_html(html)));
    let (text, title) = match rendered {
        Ok(Ok(done)) => done,
        Ok(Err(_)) | Err(_) => (strip_tags(html), None),
    };
    Ok((collapse_blank_lines(&normalize_newlines(&text)), title))
}

/// Renders the page body with html2text and finds the title in the same DOM,
/// so both see exactly the same parse (entities decoded, broken markup
/// repaired the way a browser would).
fn render_html(html: &str) -> Result<(String, Option<String>), html2text::Error> {
    let config = html2text::config::plain_no_decorate().no_table_borders();
    let dom = config.parse_html(html.as_bytes())?;
    // html2text skips <head>, <script> and <style> entirely, so their contents
    // never reach the text (checked by the tests).
    let text = match config.dom_to_render_tree(&dom) {
        Ok(tree) => config.render_to_string(tree, HTML_WIDTH)?,
        // `Fail` means the document rendered to nothing at all.
        Err(html2text::Error::Fail) => String::new(),
        Err(e) => return Err(e),
    };
    let title = ["title", "h1"]
        .into_iter()
        .find_map(|tag| element_text(&dom, tag));
    Ok((text, title))
}

/// Text of the first element named `tag`, whitespace collapsed; `None` if
/// there is no such element or it holds no text.
fn element_text(dom: &html2text::RcDom, tag: &str) -> Option<String> {
    let node = find_element(&dom.document, tag)?;
    // Render just that element: the DOM's text-node type is not exported by
    // html2text, and rendering also handles markup nested in an <h1>.
    let sub = html2text::RcDom {
        document: node,
        errors: Default::default(),
        quirks_mode: std::cell::Cell::new(dom.quirks_mode.get()),
    };
    let config = html2text::config::plain_no_decorate();
    let tree = config.dom_to_render_tree(&sub).ok()?;
    let text = config.render_to_string(tree, TITLE_WIDTH).ok()?;
    // html2text marks headings Markdown-style ("# "), on every line.
    let title = text
        .lines()
        .map(|line| match tag {
            "h1" => line.strip_prefix("# ").unwrap_or(line),
            _ => line,
        })
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then_some(title)
}

/// Depth-first, document-order search with an explicit stack: pages can nest
/// elements deeply enough to overflow the call stack with recursion.
fn find_element(root: &html2text::Handle, tag: &str) -> Option<html2text::Handle> {
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        if let html2text::Element { name, .. } = &node.data {
            // The namespace check skips SVG's own <title> elements.
            if name.ns == html2text::ns!(html) && &*name.local == tag {
                return Some(node);
            }
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    None
}

/// Last-resort HTML to text, used only if html2text fails: drops comments,
/// tags and the contents of script/style, decodes the commonest entities.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tag = &rest[lt..];
        let lower_head: String = tag.chars().take(8).collect::<String>().to_ascii_lowercase();
        let end = if tag.starts_with("<!--") {
            tag.find("-->").map(|i| i + 3)
        } else if let Some(name) = ["script", "style"]
            .into_iter()
            .find(|n| lower_head[1..].starts_with(n))
        {
            let close = format!("</{name}");
            tag.to_ascii_lowercase()
                .find(&close)
                .and_then(|i| tag[i..].find('>').map(|j| i + j + 1))
        } else {
            tag.find('>').map(|i| i + 1)
        };
        match end {
            Some(end) => {
                out.push(' ');
                rest = &tag[end..];
            }
            // Unterminated markup: everything after it is inside the tag.
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

fn extract_pdf(bytes: &[u8]) -> Result<String, ExtractError> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(ExtractError::Pdf {
            reason: "missing %PDF- header".to_owned(),
        });
    }
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem(bytes)
    }));
    match result {
        Ok(Ok(text)) => Ok(clean_pdf_text(&text)),
        Ok(Err(e)) => Err(ExtractError::Pdf {
            reason: e.to_string(),
        }),
        Err(payload) => Err(ExtractError::Pdf {
            reason: format!("parser panicked: {}", panic_message(payload.as_ref())),
        }),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

fn clean_pdf_text(text: &str) -> String {
    // Broken font encodings can map glyphs to control characters; they carry
    // no meaning for search and confuse terminals and prompts.
    let text: String = normalize_newlines(text)
        .chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            '\u{c}' => '\n',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    collapse_blank_lines(&text)
}

/// Trims trailing whitespace from every line and squeezes runs of blank lines
/// down to a single blank line, so layout-heavy sources do not produce chunks
/// made mostly of empty lines.
fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.split('\n') {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/sources/",
                $name
            ))
            .as_slice()
        };
    }

    const ALL_KINDS: [DocKind; 4] = [
        DocKind::Text,
        DocKind::Markdown,
        DocKind::Pdf,
        DocKind::Html,
    ];

    const HELVETICA: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

    /// Builds a one-page PDF drawing `content` with `font` as /F1, with a
    /// correct xref table.
    fn build_pdf(font: &str, content: &str) -> Vec<u8> {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
                .to_owned(),
            font.to_owned(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len() + 1
            ),
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for off in offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    /// xorshift64*: deterministic, dependency-free noise for robustness tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn kind_from_extension() {
        assert_eq!(DocKind::from_extension("txt"), Some(DocKind::Text));
        assert_eq!(DocKind::from_extension("TEXT"), Some(DocKind::Text));
        assert_eq!(DocKind::from_extension("md"), Some(DocKind::Markdown));
        assert_eq!(DocKind::from_extension("Markdown"), Some(DocKind::Markdown));
        assert_eq!(DocKind::from_extension("mdown"), Some(DocKind::Markdown));
        assert_eq!(DocKind::from_extension("PDF"), Some(DocKind::Pdf));
        assert_eq!(DocKind::from_extension("html"), Some(DocKind::Html));
        assert_eq!(DocKind::from_extension("HTM"), Some(DocKind::Html));
        assert_eq!(DocKind::from_extension("xhtml"), Some(DocKind::Html));
        for other in ["pptx", "docx", "png", "", "md5", "pdfx"] {
            assert_eq!(DocKind::from_extension(other), None, "{other}");
        }
    }

    #[test]
    fn kind_from_content_type() {
        let cases = [
            ("text/plain", Some(DocKind::Text)),
            ("text/plain; charset=utf-8", Some(DocKind::Text)),
            ("Text/Markdown", Some(DocKind::Markdown)),
            ("text/x-markdown;charset=UTF-8", Some(DocKind::Markdown)),
            ("application/pdf", Some(DocKind::Pdf)),
            (" text/html ; charset=\"utf-8\"", Some(DocKind::Html)),
            ("application/xhtml+xml", Some(DocKind::Html)),
            ("image/png", None),
            ("application/octet-stream", None),
            ("", None),
            (";", None),
        ];
        for (ct, want) in cases {
            assert_eq!(DocKind::from_content_type(ct), want, "{ct:?}");
        }
    }

    #[test]
    fn kind_names_are_stable() {
        let names: Vec<_> = ALL_KINDS.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["text", "markdown", "pdf", "html"]);
        for kind in ALL_KINDS {
            assert_eq!(DocKind::from_extension(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn text_fixture_normalizes_line_endings() {
        let got = extract(DocKind::Text, fixture!("photosynthesis.txt")).unwrap();
        assert_eq!(got.title, None);
        assert!(!got.text.contains('\r'));
        assert!(got.text.starts_with("Photosynthesis\n\nPlants turn light"));
        assert!(got.text.ends_with("in the atmosphere."));
        assert!(got.text.contains("thylakoid membranes"));
    }

    #[test]
    fn markdown_fixture_has_title_and_no_bom() {
        let got = extract(DocKind::Markdown, fixture!("cells.md")).unwrap();
        assert_eq!(got.title.as_deref(), Some("Cell Biology Basics"));
        assert!(got.text.starts_with("# Cell Biology Basics\n"));
        assert!(got.text.contains("- The **nucleus** stores DNA."));
    }

    #[test]
    fn markdown_title_rules() {
        let title = |s: &str| extract(DocKind::Markdown, s.as_bytes()).unwrap().title;
        assert_eq!(
            title("intro\n\n#  Spaced Title  \nbody"),
            Some("Spaced Title".into())
        );
        assert_eq!(title("# Closed ##\n"), Some("Closed".into()));
        assert_eq!(title("# Learning C#\n"), Some("Learning C#".into()));
        assert_eq!(title("   # Indented ok\n"), Some("Indented ok".into()));
        assert_eq!(title("    # code block\n"), None);
        assert_eq!(title("#hashtag\n## Second level\n"), None);
        assert_eq!(title("#\n# \n# Real\n"), Some("Real".into()));
        assert_eq!(
            title("```sh\n# comment\n```\n# After Fence\n"),
            Some("After Fence".into())
        );
        assert_eq!(title("~~~~\n# in\n~~~\n# still in\n~~~~\n"), None);
        assert_eq!(title("plain text\n"), None);
        // Plain text never gets a title, even if it looks like Markdown.
        let text = extract(DocKind::Text, b"# Heading\nbody").unwrap();
        assert_eq!(text.title, None);
    }

    #[test]
    fn html_fixture_title_and_clean_text() {
        let got = extract(DocKind::Html, fixture!("mitochondria.html")).unwrap();
        assert_eq!(got.title.as_deref(), Some("Mitochondria & the Powerhouse"));
        let text = &got.text;
        assert!(
            text.contains("Mitochondria are organelles that produce ATP"),
            "{text}"
        );
        assert!(text.contains("their own DNA \u{2014} a hint"), "{text}");
        assert!(text.contains("Inner membrane with cristae"), "{text}");
        for hidden in [
            "secretScript",
            "console.log",
            "font-family",
            "secretstyle",
            "<",
        ] {
            assert!(!text.contains(hidden), "{hidden:?} leaked into {text:?}");
        }
        assert!(!text.contains("\n\n\n"), "{text:?}");
        assert!(text.lines().all(|l| l == l.trim_end()), "{text:?}");
    }

    #[test]
    fn html_title_falls_back_to_h1() {
        let got = extract(
            DocKind::Html,
            b"<html><body><p>intro</p><h1>  The <em>Krebs</em>\n cycle</h1><h1>Other</h1></body></html>",
        )
        .unwrap();
        assert_eq!(got.title.as_deref(), Some("The Krebs cycle"));

        let got = extract(DocKind::Html, b"<title>  </title><h1>Fallback</h1>").unwrap();
        assert_eq!(got.title.as_deref(), Some("Fallback"));

        let got = extract(
            DocKind::Html,
            b"<body><svg><title>icon</title></svg><h1>Page</h1></body>",
        )
        .unwrap();
        assert_eq!(got.title.as_deref(), Some("Page"));

        let got = extract(DocKind::Html, b"<p>No headings &lt;here&gt;</p>").unwrap();
        assert_eq!(got.title, None);
        assert_eq!(got.text, "No headings <here>");
    }

    #[test]
    fn html_title_ignores_script_lookalikes() {
        let html = b"<head><script>var t = '<title>fake</title>';</script>\
                     <title>Real &#8211; one</title></head><body>x</body>";
        let got = extract(DocKind::Html, html).unwrap();
        assert_eq!(got.title.as_deref(), Some("Real \u{2013} one"));
        assert_eq!(got.text, "x");
    }

    #[test]
    fn html_collapses_blank_lines_and_long_lines_survive() {
        let long = "word ".repeat(15);
        let html = format!("<p>a</p><br><br><br><br><br><p>b</p><p>{long}</p>");
        let got = extract(DocKind::Html, html.as_bytes()).unwrap();
        assert!(!got.text.contains("\n\n\n"), "{:?}", got.text);
        assert!(got.text.starts_with("a\n"), "{:?}", got.text);
        // 75 chars fits in the render width: not wrapped.
        assert!(got.text.ends_with(long.trim()), "{:?}", got.text);
    }

    #[test]
    fn html_with_only_head_or_whitespace_is_empty() {
        for html in [
            &b"<html><head><title>T</title><style>p{}</style></head><body> </body></html>"[..],
            b"<script>only script</script>",
            b"   \n\t ",
            b"",
            b"<!-- nothing -->",
        ] {
            assert_eq!(extract(DocKind::Html, html), Err(ExtractError::Empty));
        }
    }

    #[test]
    fn pdf_fixture_extracts_words() {
        let got = extract(DocKind::Pdf, fixture!("chlorophyll.pdf")).unwrap();
        assert!(got.text.contains("chlorophyll"), "{:?}", got.text);
        assert!(got.text.contains("thylakoid"), "{:?}", got.text);
        assert!(!got.text.contains("\n\n\n"));
        assert!(got.text.lines().all(|l| l == l.trim_end()));
        assert_eq!(got.title, None);
    }

    #[test]
    fn pdf_built_in_test_round_trips() {
        let pdf = build_pdf(HELVETICA, "BT /F1 12 Tf 72 720 Td (Stroma and grana) Tj ET");
        let got = extract(DocKind::Pdf, &pdf).unwrap();
        assert_eq!(got.text, "Stroma and grana");
    }

    #[test]
    fn pdf_without_text_is_empty() {
        let pdf = build_pdf(HELVETICA, "0 0 1 rg 10 10 100 100 re f");
        assert_eq!(extract(DocKind::Pdf, &pdf), Err(ExtractError::Empty));
    }

    #[test]
    fn pdf_parser_panic_is_an_error() {
        // pdf-extract panics on encodings it does not know; that must come
        // back as an error, not unwind into the caller.
        let pdf = build_pdf(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /Bogus >>",
            "BT /F1 12 Tf 72 720 Td (boom) Tj ET",
        );
        match extract(DocKind::Pdf, &pdf) {
            Err(ExtractError::Pdf { reason }) => {
                assert!(reason.starts_with("parser panicked: "), "{reason}");
            }
            other => panic!("expected a PDF error, got {other:?}"),
        }
    }

    #[test]
    fn non_pdf_bytes_are_pdf_errors() {
        for bytes in [
            fixture!("image.png"),
            fixture!("slides.pptx"),
            fixture!("photosynthesis.txt"),
            b"",
            b"%PDF-",
            b"%PDF-1.7\n garbage that is not a pdf",
        ] {
            assert!(
                matches!(extract(DocKind::Pdf, bytes), Err(ExtractError::Pdf { .. })),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn latin1_is_rejected_with_offset() {
        let bytes = fixture!("latin1.txt");
        assert!(std::str::from_utf8(bytes).is_err());
        for kind in [DocKind::Text, DocKind::Markdown, DocKind::Html] {
            assert_eq!(
                extract(kind, bytes),
                Err(ExtractError::NotUtf8 { offset: 3 }),
                "{kind:?}"
            );
        }
        // The offset counts the BOM, i.e. it indexes the caller's bytes.
        let with_bom = [b"\xef\xbb\xbfab".as_slice(), b"\xff"].concat();
        assert_eq!(
            extract(DocKind::Text, &with_bom),
            Err(ExtractError::NotUtf8 { offset: 5 })
        );
    }

    #[test]
    fn binary_is_rejected_before_utf8_check() {
        let png = fixture!("image.png");
        for kind in [DocKind::Text, DocKind::Markdown, DocKind::Html] {
            assert_eq!(extract(kind, png), Err(ExtractError::Binary), "{kind:?}");
        }
        // UTF-16 text has NULs too; it is reported as binary, not as mojibake.
        let utf16: Vec<u8> = "hi".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(extract(DocKind::Text, &utf16), Err(ExtractError::Binary));
    }

    #[test]
    fn whitespace_only_is_empty() {
        let empty = fixture!("empty.txt");
        for kind in [DocKind::Text, DocKind::Markdown, DocKind::Html] {
            assert_eq!(extract(kind, empty), Err(ExtractError::Empty), "{kind:?}");
            assert_eq!(extract(kind, b""), Err(ExtractError::Empty), "{kind:?}");
            assert_eq!(
                extract(kind, "\u{feff}\r\n \u{a0}".as_bytes()),
                Err(ExtractError::Empty)
            );
        }
    }

    #[test]
    fn unsupported_fixture_has_no_kind() {
        assert_eq!(DocKind::from_extension("pptx"), None);
        assert_eq!(
            extract(DocKind::Text, fixture!("slides.pptx")),
            Err(ExtractError::Binary)
        );
    }

    #[test]
    fn text_is_trimmed_and_line_endings_normalized() {
        let got = extract(DocKind::Text, "\u{feff}\r\n  a\r\nb\rc  \n\n".as_bytes()).unwrap();
        assert_eq!(got.text, "a\nb\nc");
        let got = extract(DocKind::Markdown, "caf\u{e9} \u{1f600}\r\n".as_bytes()).unwrap();
        assert_eq!(got.text, "caf\u{e9} \u{1f600}");
    }

    #[test]
    fn errors_render_readably() {
        assert_eq!(ExtractError::Binary.to_string(), "binary content");
        assert_eq!(
            ExtractError::NotUtf8 { offset: 7 }.to_string(),
            "not UTF-8 (invalid byte at offset 7)"
        );
        assert_eq!(ExtractError::Empty.to_string(), "no text");
        assert_eq!(
            ExtractError::Pdf { reason: "x".into() }.to_string(),
            "unreadable PDF: x"
        );
    }

    #[test]
    fn strip_tags_fallback() {
        let text = strip_tags(
            "<p>a &amp; b</p><SCRIPT type=x>evil()</script><!-- c --><style>p{}</style>d<br",
        );
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            ["a", "&", "b", "d"]
        );
    }

    #[test]
    fn deeply_nested_html_does_not_overflow() {
        for (open, close) in [
            ("<div>", "</div>"),
            ("<table><tr><td>", ""),
            ("<ul><li>", ""),
        ] {
            let html = format!("{}deep{}", open.repeat(5_000), close.repeat(5_000));
            let got = extract(DocKind::Html, html.as_bytes());
            assert!(
                matches!(&got, Ok(e) if e.text.contains("deep")) || got == Err(ExtractError::Empty),
                "{open}: {got:?}"
            );
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let pdf = fixture!("chlorophyll.pdf");
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for fixture in [
            fixture!("photosynthesis.txt"),
            fixture!("cells.md"),
            fixture!("mitochondria.html"),
            fixture!("image.png"),
            fixture!("latin1.txt"),
            fixture!("empty.txt"),
            fixture!("slides.pptx"),
        ] {
            for cut in 0..=fixture.len() {
                inputs.push(fixture[..cut].to_vec());
            }
        }
        for cut in (0..=pdf.len()).step_by(7) {
            inputs.push(pdf[..cut].to_vec());
        }
        for _ in 0..300 {
            let mut flipped = pdf.to_vec();
            for _ in 0..=rng.below(4) {
                let i = rng.below(flipped.len());
                flipped[i] = rng.next() as u8;
            }
            inputs.push(flipped);
        }
        for _ in 0..300 {
            let len = rng.below(512);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if rng.below(2) == 0 {
                bytes.splice(0..0, b"%PDF-1.4\n".iter().copied());
            }
            inputs.push(bytes);
        }
        // Mostly-valid markup soup, so the HTML renderer gets past decoding.
        let pieces = [
            "<p>",
            "</p>",
            "<table>",
            "<tr>",
            "<td colspan=9999>",
            "</td>",
            "<ul>",
            "<li>",
            "<pre>",
            "&amp;",
            "&#0;",
            "&#x110000;",
            "<h1>",
            "<title>",
            "text ",
            "\u{1f600}",
            "<br>",
            "<",
            ">",
            "\"",
            "<!--",
            "<svg>",
            "<math>",
            "<template>",
        ];
        for _ in 0..300 {
            let html: String = (0..rng.below(60))
                .map(|_| pieces[rng.below(pieces.len())])
                .collect();
            inputs.push(html.into_bytes());
        }
        for bytes in &inputs {
            for kind in ALL_KINDS {
                if let Ok(got) = extract(kind, bytes) {
                    assert!(!got.text.trim().is_empty());
                    assert_eq!(got.text, got.text.trim());
                    assert!(got.title.as_deref().is_none_or(|t| !t.is_empty()));
                }
            }
        }
    }
}
