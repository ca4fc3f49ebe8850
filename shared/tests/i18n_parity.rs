//! Keeps the locales complete: both files parse, define the same messages with the same
//! placeholders, every message formats, and every message id the code uses exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fluent_syntax::ast;
use mentor_shared::i18n::{localizer, FluentArgs, Lang, SOURCES};

fn variables_in(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            variables_in_expr(expression, out);
        }
    }
}

fn variables_in_expr(expr: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match expr {
        ast::Expression::Inline(inline) => variables_in_inline(inline, out),
        ast::Expression::Select { selector, variants } => {
            variables_in_inline(selector, out);
            for v in variants {
                variables_in(&v.value, out);
            }
        }
    }
}

fn variables_in_inline(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_string());
        }
        ast::InlineExpression::Placeable { expression } => variables_in_expr(expression, out),
        _ => {}
    }
}

/// Message id → the variables it uses, for one locale's source.
fn messages(lang: Lang, source: &str) -> BTreeMap<String, BTreeSet<String>> {
    let resource = fluent_syntax::parser::parse(source)
        .unwrap_or_else(|(_, errors)| panic!("{}: syntax errors: {errors:?}", lang.tag()));
    let mut out = BTreeMap::new();
    for entry in resource.body {
        if let ast::Entry::Message(m) = entry {
            let mut vars = BTreeSet::new();
            if let Some(value) = &m.value {
                variables_in(value, &mut vars);
            }
            assert!(
                out.insert(m.id.name.to_string(), vars).is_none(),
                "{}: duplicate message {}",
                lang.tag(),
                m.id.name
            );
        }
    }
    out
}

#[test]
fn locales_have_the_same_messages_and_placeholders() {
    let [(en_lang, en_src), (fr_lang, fr_src)] = SOURCES;
    let en = messages(en_lang, en_src);
    let fr = messages(fr_lang, fr_src);
    let en_ids: BTreeSet<_> = en.keys().collect();
    let fr_ids: BTreeSet<_> = fr.keys().collect();
    assert_eq!(
        en_ids.symmetric_difference(&fr_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "messages present in only one locale"
    );
    for (id, vars) in &en {
        assert_eq!(Some(vars), fr.get(id), "placeholders of `{id}` differ");
    }
}

#[test]
fn every_message_formats_in_every_locale() {
    for (lang, source) in SOURCES {
        let l = localizer(lang);
        for (id, vars) in messages(lang, source) {
            let mut args = FluentArgs::new();
            for v in &vars {
                args.set(v.clone(), "x");
            }
            let text = l
                .try_text(&id, Some(&args))
                .unwrap_or_else(|e| panic!("{}: {e}", lang.tag()));
            assert!(!text.trim().is_empty(), "{}: `{id}` is empty", lang.tag());
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "target" && name != ".git" {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The message ids passed to `t!` anywhere in the workspace (calls may span lines).
fn ids_used_in_code() -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut ids = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (pos, _) in text.match_indices("t!(") {
            // `assert!(` ends in `t!(` too: the macro name must stand alone.
            let before = text[..pos].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &text[pos + 3..];
            let Some(comma) = rest.find(',') else {
                continue;
            };
            let after = rest[comma + 1..].trim_start();
            let Some(lit) = after.strip_prefix('"') else {
                continue;
            };
            let Some(end) = lit.find('"') else { continue };
            let id = &lit[..end];
            if id.contains('-')
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                ids.insert((id.to_string(), file.display().to_string()));
            }
        }
    }
    ids
}

#[test]
fn every_id_used_in_code_exists_in_every_locale() {
    let used = ids_used_in_code();
    assert!(
        used.len() > 50,
        "the scan found too few ids: {}",
        used.len()
    );
    for lang in Lang::ALL {
        let l = localizer(lang);
        let missing: Vec<_> = used.iter().filter(|(id, _)| !l.has(id)).collect();
        assert!(missing.is_empty(), "{}: missing {missing:?}", lang.tag());
    }
}
