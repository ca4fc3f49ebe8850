//! Property tests of text extraction: any bytes as any kind — no panic, and a result that
//! keeps the module's promises (non-blank trimmed text with `\n` line ends, a trimmed
//! non-empty title if any). Text and Markdown are checked exactly against their definition;
//! PDFs are the sample PDF mutated (bytes flipped, cut, spliced, numbers made huge), kept
//! small so a case stays fast.

use proptest::prelude::*;

use super::*;
use crate::fuzz_support::fuzz_config;

const PDF: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/sources/chlorophyll.pdf"
));

/// The promises every successful extraction keeps.
fn check(kind: DocKind, got: &Result<Extracted, ExtractError>) -> Result<(), TestCaseError> {
    if let Ok(e) = got {
        prop_assert!(!e.text.is_empty(), "{kind:?}: empty text");
        prop_assert_eq!(e.text.trim(), e.text.as_str(), "{:?}: untrimmed", kind);
        prop_assert!(!e.text.contains('\r'), "{kind:?}: CR in {:?}", e.text);
        if let Some(t) = &e.title {
            prop_assert!(!t.is_empty() && t.trim() == t, "{kind:?}: title {t:?}");
        }
    }
    Ok(())
}

fn text_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => "[a-z #`~]{0,10}".prop_map(String::into_bytes),
        2 => prop_oneof![
            Just("\n"), Just("\r\n"), Just("\r"), Just("\u{feff}"), Just("# "), Just("```"),
            Just("    # x"), Just(" \u{a0}"), Just("é"), Just("🌱"),
        ].prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..4),
    ];
    proptest::collection::vec(piece, 0..30).prop_map(|p| p.concat())
}

fn html_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop_oneof![
            Just("<p>"), Just("</p>"), Just("<h1>"), Just("</h1>"), Just("<title>"),
            Just("</title>"), Just("<head>"), Just("<body>"), Just("<table>"), Just("<tr>"),
            Just("<td colspan=65535>"), Just("<td rowspan=0>"), Just("<ul>"), Just("<ol start=-9>"),
            Just("<li>"), Just("<pre>"), Just("<br>"), Just("<script>"), Just("</script>"),
            Just("<style>"), Just("<svg>"), Just("<math>"), Just("<template>"), Just("<!--"),
            Just("-->"), Just("&amp;"), Just("&#0;"), Just("&#x110000;"), Just("&nbsp;"),
            Just("<"), Just(">"), Just("\""), Just("\r\n"), Just("\t"), Just("<a href=x>"),
            Just("<img alt=\"i\">"), Just("<blockquote>"), Just("<sup>"), Just("<div>"),
        ].prop_map(|s| s.as_bytes().to_vec()),
        2 => "[a-z ]{1,10}".prop_map(String::into_bytes),
        1 => any::<String>().prop_map(|s| s.chars().take(6).collect::<String>().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..3),
    ];
    proptest::collection::vec(piece, 0..50).prop_map(|p| p.concat())
}

/// One change to a PDF.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(proptest::sample::Index, u8),
    Cut(proptest::sample::Index),
    Delete(proptest::sample::Index, usize),
    Copy(proptest::sample::Index, proptest::sample::Index, usize),
    /// Replaces the n-th run of digits.
    Number(proptest::sample::Index, u64),
    Insert(proptest::sample::Index, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    use proptest::sample::Index;
    prop_oneof![
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        1 => any::<Index>().prop_map(Mutation::Cut),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), any::<Index>(), 1usize..128)
            .prop_map(|(a, b, n)| Mutation::Copy(a, b, n)),
        3 => (any::<Index>(), prop_oneof![
            Just(0u64), Just(1), Just(2), Just(3), Just(4), Just(5), Just(6), Just(255),
            Just(65_535), Just(u64::from(u32::MAX)), Just(u64::MAX), any::<u64>(),
        ]).prop_map(|(i, n)| Mutation::Number(i, n)),
        2 => (any::<proptest::sample::Index>(), prop_oneof![
            Just(&b" 1 0 R "[..]), Just(&b" 3 0 R "[..]), Just(&b"/Kids [3 0 R 3 0 R]"[..]),
            Just(&b"/Parent 3 0 R"[..]), Just(&b"/Length 999999999"[..]), Just(&b"<<"[..]),
            Just(&b">>"[..]), Just(&b"["[..]), Just(&b"("[..]), Just(&b"/Filter /FlateDecode"[..]),
            Just(&b"stream\n"[..]), Just(&b"endobj"[..]), Just(&b"Tj"[..]), Just(&b"TJ"[..]),
            Just(&b"/Encoding /WinAnsiEncoding"[..]), Just(&b"/ToUnicode 4 0 R"[..]),
            Just(&b"/Type /ObjStm /N 99999999 /First 0"[..]), Just(&b"/Prev 0"[..]),
        ].prop_map(<[u8]>::to_vec)).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn apply(pdf: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &proptest::sample::Index, len: usize| i.index(len + 1);
    match m {
        Mutation::Flip(i, b) if !pdf.is_empty() => {
            let i = i.index(pdf.len());
            pdf[i] = *b;
        }
        Mutation::Flip(..) => {}
        Mutation::Cut(i) => pdf.truncate(at(i, pdf.len())),
        Mutation::Delete(i, n) => {
            let from = at(i, pdf.len());
            let to = (from + n).min(pdf.len());
            pdf.drain(from..to);
        }
        Mutation::Copy(from, to, n) => {
            let from = at(from, pdf.len());
            let end = (from + n).min(pdf.len());
            let piece = pdf[from..end].to_vec();
            let to = at(to, pdf.len());
            pdf.splice(to..to, piece);
        }
        Mutation::Number(i, n) => {
            let mut runs = Vec::new();
            let mut start = None;
            for (j, b) in pdf.iter().enumerate() {
                match (b.is_ascii_digit(), start) {
                    (true, None) => start = Some(j),
                    (false, Some(s)) => {
                        runs.push((s, j));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                runs.push((s, pdf.len()));
            }
            if !runs.is_empty() {
                let (s, e) = runs[i.index(runs.len())];
                pdf.splice(s..e, n.to_string().into_bytes());
            }
        }
        Mutation::Insert(i, bytes) => {
            let i = at(i, pdf.len());
            pdf.splice(i..i, bytes.iter().copied());
        }
    }
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Text and Markdown: accepted exactly when the bytes are UTF-8 without NUL and not
    /// blank, and then the text is the input with `\n` line ends, trimmed, the BOM dropped.
    #[test]
    fn fuzz_text_and_markdown(bytes in text_bytes()) {
        for kind in [DocKind::Text, DocKind::Markdown] {
            let got = extract(kind, &bytes);
            check(kind, &got)?;
            let want = match std::str::from_utf8(&bytes) {
                _ if bytes.contains(&0) => Err(ExtractError::Binary),
                Err(e) => Err(ExtractError::NotUtf8 { offset: e.valid_up_to() }),
                Ok(s) => {
                    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
                    let s = s.replace("\r\n", "\n").replace('\r', "\n");
                    let s = s.trim();
                    if s.is_empty() { Err(ExtractError::Empty) } else { Ok(s.to_string()) }
                }
            };
            prop_assert_eq!(got.map(|e| e.text), want);
        }
    }

    /// HTML (and any bytes as any kind): no panic, the promises kept.
    #[test]
    fn fuzz_html_and_any_bytes(html in html_bytes(), raw in proptest::collection::vec(any::<u8>(), 0..64)) {
        check(DocKind::Html, &extract(DocKind::Html, &html))?;
        for kind in [DocKind::Text, DocKind::Markdown, DocKind::Html, DocKind::Pdf] {
            check(kind, &extract(kind, &raw))?;
        }
    }

    /// The sample PDF, mutated: no panic, no hang, the promises kept.
    #[test]
    fn fuzz_mutated_pdf(mutations in proptest::collection::vec(mutation(), 1..5)) {
        let mut pdf = PDF.to_vec();
        for m in &mutations {
            apply(&mut pdf, m);
        }
        check(DocKind::Pdf, &extract(DocKind::Pdf, &pdf))?;
    }
}
