//! Markdown rendering for chat replies, producing ratatui lines already wrapped to a width.
//!
//! Guarantees, for any input (including a half-streamed reply) and any width:
//! - never panics and always terminates;
//! - no leading or trailing blank line;
//! - every line fits in `width` columns (unicode-width, so CJK and emoji count double)
//!   unless `width` cannot even hold a block's prefixes plus one character;
//! - code blocks are never reflowed: long code lines are cut at the width and continued;
//! - with `color == false` no span carries a foreground or background color, only modifiers.

use pulldown_cmark::{
    Alignment, CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Renders Markdown to terminal lines already wrapped to `width` columns (so the caller can count lines for scrolling).
pub fn render(markdown: &str, width: u16, color: bool) -> Vec<Line<'static>> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut renderer = Renderer::new(width, color);
    for event in Parser::new_ext(markdown, options) {
        renderer.event(event);
    }
    renderer.finish()
}

/// Word-wraps styled spans to `width` columns; the first line is prefixed with `first`, the others with `rest` (prefix spans count toward the width). Words longer than the width are broken.
///
/// A `'\n'` in the spans starts a new line, and indentation after it is kept, so plain
/// messages keep their shape; an empty input yields one line holding `first`.
pub fn wrap(
    spans: Vec<Span<'static>>,
    width: u16,
    first: Vec<Span<'static>>,
    rest: Vec<Span<'static>>,
) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut out = Vec::new();
    let mut line = LineBuf::new(first);
    // Indentation is only meaningful at the start of the text or after an explicit newline;
    // at a soft wrap it would just look like a stray space.
    let mut hard_start = true;
    let mut gap: Option<Word> = None;
    for token in tokenize(&spans) {
        match token {
            Token::Newline => {
                out.push(std::mem::replace(&mut line, LineBuf::new(rest.clone())).finish());
                hard_start = true;
                gap = None;
            }
            Token::Gap(g) => {
                if line.has_content || hard_start {
                    gap = Some(g);
                }
            }
            Token::Word(word) => {
                let gap_width = gap.as_ref().map_or(0, |g| g.width);
                if line.has_content && line.width + gap_width + word.width > width {
                    out.push(std::mem::replace(&mut line, LineBuf::new(rest.clone())).finish());
                    hard_start = false;
                    gap = None;
                }
                let gap = gap.take();
                let gap_width = gap.as_ref().map_or(0, |g| g.width);
                if line.width + gap_width + word.width <= width {
                    for (text, style) in gap.into_iter().chain([word]).flat_map(|w| w.pieces) {
                        line.push(&text, style);
                    }
                } else {
                    // The word (with any kept indentation) is wider than a whole line,
                    // so it has to be cut between characters.
                    let chars = gap
                        .into_iter()
                        .chain([word])
                        .flat_map(|w| w.pieces)
                        .flat_map(|(text, style)| {
                            text.chars().map(move |c| (c, style)).collect::<Vec<_>>()
                        });
                    let mut joined = false;
                    for (c, style) in chars {
                        let w = c.width().unwrap_or(0);
                        let breakable = !joins_previous(c) && !joined;
                        joined = c == '\u{200d}';
                        if breakable && line.has_content && line.width + w > width {
                            out.push(
                                std::mem::replace(&mut line, LineBuf::new(rest.clone())).finish(),
                            );
                            hard_start = false;
                        }
                        if !line.has_content && !hard_start && c == ' ' {
                            continue;
                        }
                        let mut buf = [0u8; 4];
                        line.push(c.encode_utf8(&mut buf), style);
                    }
                }
            }
        }
    }
    out.push(line.finish());
    out
}

/// A run of text that wrapping treats as one unit, with its styled pieces.
#[derive(Default)]
struct Word {
    pieces: Vec<(String, Style)>,
    width: usize,
}

impl Word {
    fn push(&mut self, c: char, style: Style) {
        match self.pieces.last_mut() {
            Some((text, s)) if *s == style => text.push(c),
            _ => self.pieces.push((c.to_string(), style)),
        }
    }

    fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    fn ends_with_zwj(&self) -> bool {
        self.pieces
            .last()
            .is_some_and(|(text, _)| text.ends_with('\u{200d}'))
    }
}

enum Token {
    Word(Word),
    Gap(Word),
    Newline,
}

/// Combining marks, joiners and emoji skin tones render with the character before them,
/// so no line break may separate them from it.
fn joins_previous(c: char) -> bool {
    c.width() == Some(0) || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

fn is_break_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}')
}

fn tokenize(spans: &[Span<'static>]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = Word::default();
    let mut gap = Word::default();
    // Wide (CJK) text has no spaces, so a break must be allowed around each wide character.
    let mut break_after = false;
    for span in spans {
        let style = span.style;
        for c in span.content.chars() {
            if c == '\n' {
                flush(&mut tokens, &mut word, Token::Word);
                flush(&mut tokens, &mut gap, Token::Gap);
                tokens.push(Token::Newline);
                break_after = false;
            } else if is_break_space(c) {
                flush(&mut tokens, &mut word, Token::Word);
                if c == '\t' {
                    for _ in 0..4 {
                        gap.push(' ', style);
                    }
                } else if !c.is_control() {
                    gap.push(c, style);
                }
                break_after = false;
            } else if !c.is_control() {
                flush(&mut tokens, &mut gap, Token::Gap);
                let w = c.width().unwrap_or(0);
                if joins_previous(c) {
                    word.push(c, style);
                    continue;
                }
                if (w >= 2 || break_after) && !word.is_empty() && !word.ends_with_zwj() {
                    flush(&mut tokens, &mut word, Token::Word);
                }
                word.push(c, style);
                break_after = w >= 2;
            }
        }
    }
    flush(&mut tokens, &mut word, Token::Word);
    flush(&mut tokens, &mut gap, Token::Gap);
    tokens
}

fn flush(tokens: &mut Vec<Token>, word: &mut Word, make: fn(Word) -> Token) {
    if !word.is_empty() {
        let mut word = std::mem::take(word);
        // Measured as a string, like ratatui does, so emoji sequences count once.
        word.width = word.pieces.iter().map(|(text, _)| text.width()).sum();
        tokens.push(make(word));
    }
}

struct LineBuf {
    spans: Vec<Span<'static>>,
    width: usize,
    has_content: bool,
}

impl LineBuf {
    fn new(prefix: Vec<Span<'static>>) -> Self {
        Self {
            width: spans_width(&prefix),
            spans: prefix,
            has_content: false,
        }
    }

    fn push(&mut self, text: &str, style: Style) {
        self.width += text.width();
        // Merge only within content: prefix spans stay separate so callers can recognise them.
        match self.spans.last_mut() {
            Some(last) if self.has_content && last.style == style => {
                last.content.to_mut().push_str(text);
            }
            _ => self.spans.push(Span::styled(text.to_string(), style)),
        }
        self.has_content = true;
    }

    fn finish(self) -> Line<'static> {
        Line::from(self.spans)
    }
}

fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| s.content.width()).sum()
}

fn trim_trailing_whitespace(spans: &mut Vec<Span<'static>>) {
    while let Some(last) = spans.last_mut() {
        let trimmed = last.content.trim_end();
        if trimmed.is_empty() {
            spans.pop();
        } else {
            if trimmed.len() != last.content.len() {
                last.content = trimmed.to_string().into();
            }
            return;
        }
    }
}

/// Styles, chosen once so that the no-color mode provably never sets fg or bg.
#[derive(Clone, Copy)]
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(self, style: Style, color: Color) -> Style {
        if self.color {
            style.fg(color)
        } else {
            style
        }
    }

    fn heading(self, level: HeadingLevel) -> Style {
        let style = Style::new().add_modifier(Modifier::BOLD);
        let style = match level {
            HeadingLevel::H1 => style.add_modifier(Modifier::UNDERLINED),
            HeadingLevel::H2 => style,
            _ => style.add_modifier(Modifier::ITALIC),
        };
        self.fg(style, Color::Magenta)
    }

    fn inline_code(self) -> Style {
        self.fg(Style::new(), Color::Cyan)
    }

    fn link(self) -> Style {
        self.fg(
            Style::new().add_modifier(Modifier::UNDERLINED),
            Color::LightBlue,
        )
    }

    fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    fn quote_bar(self) -> Style {
        if self.color {
            Style::new().fg(Color::Green)
        } else {
            self.dim()
        }
    }

    fn code_block(self) -> Style {
        // Both fg and bg are set so the block stays readable on light and dark terminals.
        if self.color {
            Style::new().fg(Color::Indexed(252)).bg(Color::Indexed(236))
        } else {
            Style::new()
        }
    }

    fn code_label(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Indexed(245))
                .bg(Color::Indexed(236))
                .add_modifier(Modifier::ITALIC)
        } else {
            Style::new().add_modifier(Modifier::DIM | Modifier::ITALIC)
        }
    }
}

enum Container {
    Quote,
    Item {
        marker: String,
        width: usize,
        consumed: bool,
    },
}

struct LinkState {
    url: String,
    text: String,
    autolink: bool,
}

struct TableState {
    aligns: Vec<Alignment>,
    rows: Vec<(bool, Vec<Vec<Span<'static>>>)>,
}

struct CodeState {
    lang: Option<String>,
    text: String,
}

struct Renderer {
    width: u16,
    theme: Theme,
    lines: Vec<Line<'static>>,
    /// Set when a block ended; turned into `blank` only if another block follows.
    want_blank: bool,
    /// Emitted lazily with the next line so the output never ends with a blank line.
    blank: Option<Line<'static>>,
    containers: Vec<Container>,
    lists: Vec<Option<u64>>,
    styles: Vec<Style>,
    inline: Vec<Span<'static>>,
    links: Vec<LinkState>,
    image: Option<String>,
    image_depth: usize,
    code: Option<CodeState>,
    table: Option<TableState>,
}

impl Renderer {
    fn new(width: u16, color: bool) -> Self {
        Self {
            width,
            theme: Theme { color },
            lines: Vec::new(),
            want_blank: false,
            blank: None,
            containers: Vec::new(),
            lists: Vec::new(),
            styles: Vec::new(),
            inline: Vec::new(),
            links: Vec::new(),
            image: None,
            image_depth: 0,
            code: None,
            table: None,
        }
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        // pulldown-cmark closes every tag even in a truncated reply; this only makes sure
        // nothing is lost if a block were ever left open.
        if let Some(code) = self.code.take() {
            self.code_block(code);
        }
        if let Some(table) = self.table.take() {
            self.render_table(table);
        }
        self.flush_inline();
        self.lines
    }

    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, style: Style) {
        self.styles.push(self.style().patch(style));
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => self.inline_code(&code),
            Event::InlineMath(math) => self.text(&format!("${math}$")),
            Event::DisplayMath(math) => self.text(&format!("$${math}$$")),
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            Event::FootnoteReference(label) => self.text(&format!("[^{label}]")),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => {
                // Table rows are single lines, so a break inside a cell degrades to a space.
                let brk = if self.table.is_some() { " " } else { "\n" };
                self.inline.push(Span::styled(brk, self.style()));
            }
            Event::Rule => self.rule(),
            Event::TaskListMarker(done) => {
                let mark = if done { "[x] " } else { "[ ] " };
                self.inline.push(Span::styled(mark, self.style()));
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph
            | Tag::HtmlBlock
            | Tag::MetadataBlock(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => self.start_block(),
            Tag::FootnoteDefinition(label) => {
                self.start_block();
                self.text(&format!("[^{label}]: "));
            }
            Tag::Heading { level, .. } => {
                self.start_block();
                self.push_style(self.theme.heading(level));
            }
            Tag::BlockQuote(_) => {
                self.start_block();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(kind) => {
                self.start_block();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => code_language(&info),
                    CodeBlockKind::Indented => None,
                };
                self.code = Some(CodeState {
                    lang,
                    text: String::new(),
                });
            }
            Tag::List(start) => {
                self.start_block();
                self.lists.push(start);
            }
            Tag::Item => {
                self.start_block();
                let depth = self.lists.len();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n = n.saturating_add(1);
                        marker
                    }
                    _ => match depth {
                        0 | 1 => "• ",
                        2 => "◦ ",
                        _ => "▪ ",
                    }
                    .to_string(),
                };
                self.containers.push(Container::Item {
                    width: marker.width(),
                    marker,
                    consumed: false,
                });
            }
            Tag::Table(aligns) => {
                self.start_block();
                self.table = Some(TableState {
                    aligns,
                    rows: Vec::new(),
                });
            }
            Tag::TableHead | Tag::TableRow => {
                let header = matches!(tag, Tag::TableHead);
                if let Some(table) = &mut self.table {
                    table.rows.push((header, Vec::new()));
                }
            }
            Tag::TableCell => self.inline.clear(),
            Tag::Emphasis => self.push_style(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => {
                self.push_style(Style::new().add_modifier(Modifier::CROSSED_OUT));
            }
            Tag::Superscript | Tag::Subscript => self.push_style(Style::new()),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                self.push_style(self.theme.link());
                self.links.push(LinkState {
                    url: dest_url.to_string(),
                    text: String::new(),
                    autolink: matches!(link_type, LinkType::Autolink | LinkType::Email),
                });
            }
            Tag::Image { .. } => {
                self.image_depth += 1;
                self.image.get_or_insert_with(String::new);
            }
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => self.end_block(),
            TagEnd::Heading(_) => {
                self.styles.pop();
                self.end_block();
            }
            TagEnd::HtmlBlock => {
                trim_trailing_whitespace(&mut self.inline);
                self.end_block();
            }
            TagEnd::BlockQuote(_) => {
                self.flush_inline();
                self.containers.pop();
                self.want_blank = true;
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    self.code_block(code);
                }
                self.want_blank = true;
            }
            TagEnd::List(_) => {
                self.flush_inline();
                self.lists.pop();
                // A nested list is part of its item; spacing there is the item's business.
                if !matches!(self.containers.last(), Some(Container::Item { .. })) {
                    self.want_blank = true;
                }
            }
            TagEnd::Item => {
                self.flush_inline();
                if let Some(Container::Item {
                    consumed: false, ..
                }) = self.containers.last()
                {
                    // An empty item (often one still being streamed) still shows its marker.
                    let (mut first, _) = self.prefixes();
                    trim_trailing_whitespace(&mut first);
                    self.push_line(Line::from(first));
                }
                self.containers.pop();
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.render_table(table);
                }
                self.want_blank = true;
            }
            TagEnd::TableHead | TagEnd::TableRow => {}
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline)
                    .into_iter()
                    .map(|s| Span::styled(s.content.replace('\n', " "), s.style))
                    .collect();
                if let Some((_, cells)) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    cells.push(cell);
                }
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => {
                self.styles.pop();
            }
            TagEnd::Link => {
                self.styles.pop();
                if let Some(link) = self.links.pop() {
                    let same = link.text == link.url
                        || link.url.strip_prefix("mailto:") == Some(link.text.as_str());
                    if !link.autolink && !same && !link.url.is_empty() {
                        let style = self.style().add_modifier(Modifier::DIM);
                        self.inline
                            .push(Span::styled(format!(" ({})", link.url), style));
                    }
                }
            }
            TagEnd::Image => {
                self.image_depth = self.image_depth.saturating_sub(1);
                if self.image_depth == 0 {
                    let alt = self.image.take().unwrap_or_default();
                    let text = if alt.trim().is_empty() {
                        "[image]".to_string()
                    } else {
                        format!("[image: {}]", alt.trim())
                    };
                    let style = self.style().add_modifier(Modifier::DIM);
                    self.push_inline(&text, style);
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(code) = &mut self.code {
            code.text.push_str(text);
        } else if let Some(alt) = &mut self.image {
            alt.push_str(text);
        } else {
            // Control characters could drive the terminal; tabs would break width accounting.
            let clean: String = text
                .chars()
                .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            self.push_inline(&clean, self.style());
        }
    }

    fn inline_code(&mut self, code: &str) {
        if let Some(alt) = &mut self.image {
            alt.push_str(code);
            return;
        }
        let code: String = code.chars().filter(|c| !c.is_control()).collect();
        let style = self.style().patch(self.theme.inline_code());
        // Without color the backticks are the only thing that marks it as code.
        let shown = if self.theme.color {
            code
        } else {
            format!("`{code}`")
        };
        self.push_inline(&shown, style);
    }

    fn push_inline(&mut self, text: &str, style: Style) {
        if let Some(link) = self.links.last_mut() {
            link.text.push_str(text);
        }
        self.inline.push(Span::styled(text.to_string(), style));
    }

    /// Prefixes for a block's first and following lines; the first use of an item's marker consumes it.
    fn prefixes(&mut self) -> (Vec<Span<'static>>, Vec<Span<'static>>) {
        let bar = self.theme.quote_bar();
        let mut first = Vec::new();
        let mut rest = Vec::new();
        for container in &mut self.containers {
            match container {
                Container::Quote => {
                    for spans in [&mut first, &mut rest] {
                        spans.push(Span::styled("▌", bar));
                        spans.push(Span::raw(" "));
                    }
                }
                Container::Item {
                    marker,
                    width,
                    consumed,
                } => {
                    let indent = " ".repeat(*width);
                    if *consumed {
                        first.push(Span::raw(indent.clone()));
                    } else {
                        first.push(Span::raw(marker.clone()));
                        *consumed = true;
                    }
                    rest.push(Span::raw(indent));
                }
            }
        }
        (first, rest)
    }

    fn push_line(&mut self, line: Line<'static>) {
        if let Some(blank) = self.blank.take() {
            self.lines.push(blank);
        }
        self.lines.push(line);
    }

    fn start_block(&mut self) {
        self.flush_inline();
        if std::mem::take(&mut self.want_blank) && !self.lines.is_empty() && self.blank.is_none() {
            // Computed now, before this block's own container is pushed, so a blank between
            // two quotes is not drawn inside either of them.
            let mut spans = self.current_rest_prefix();
            trim_trailing_whitespace(&mut spans);
            self.blank = Some(Line::from(spans));
        }
    }

    fn end_block(&mut self) {
        self.flush_inline();
        self.want_blank = true;
    }

    fn current_rest_prefix(&self) -> Vec<Span<'static>> {
        let bar = self.theme.quote_bar();
        let mut spans = Vec::new();
        for container in &self.containers {
            match container {
                Container::Quote => {
                    spans.push(Span::styled("▌", bar));
                    spans.push(Span::raw(" "));
                }
                Container::Item { width, .. } => spans.push(Span::raw(" ".repeat(*width))),
            }
        }
        spans
    }

    fn flush_inline(&mut self) {
        let mut spans = std::mem::take(&mut self.inline);
        trim_trailing_whitespace(&mut spans);
        if spans.is_empty() {
            return;
        }
        let (first, rest) = self.prefixes();
        for line in wrap(spans, self.width, first, rest) {
            self.push_line(line);
        }
    }

    fn avail(&self, prefix: &[Span<'_>]) -> usize {
        usize::from(self.width).saturating_sub(spans_width(prefix))
    }

    fn rule(&mut self) {
        self.start_block();
        let (mut spans, _) = self.prefixes();
        let n = self.avail(&spans).max(1);
        spans.push(Span::styled("─".repeat(n), self.theme.dim()));
        self.push_line(Line::from(spans));
        self.want_blank = true;
    }

    fn code_block(&mut self, code: CodeState) {
        let theme = self.theme;
        let (first, rest) = self.prefixes();
        let avail = self.avail(&rest);
        let mut first = Some(first);
        let mut next_prefix = || first.take().unwrap_or_else(|| rest.clone());
        let lead_width = if theme.color { 1 } else { 4 };
        let cap = avail.saturating_sub(lead_width).max(1);
        let mut out = Vec::new();
        if let Some(lang) = code.lang {
            let label = hard_cut(&lang, cap).into_iter().next().unwrap_or_default();
            let mut spans = next_prefix();
            if theme.color {
                spans.push(Span::styled(
                    pad(format!(" {label}"), avail),
                    theme.code_label(),
                ));
            } else {
                spans.push(Span::raw("  "));
                spans.push(Span::styled("┌ ", theme.dim()));
                spans.push(Span::styled(label, theme.code_label()));
            }
            out.push(Line::from(spans));
        }
        let mut code_lines: Vec<&str> = code.text.split('\n').collect();
        if code.text.ends_with('\n') {
            code_lines.pop();
        }
        for raw in code_lines {
            for chunk in hard_cut(&expand_tabs(raw), cap) {
                let mut spans = next_prefix();
                if theme.color {
                    // Padding to the full width makes the background read as one solid block.
                    spans.push(Span::styled(
                        pad(format!(" {chunk}"), avail),
                        theme.code_block(),
                    ));
                } else {
                    spans.push(Span::raw("  "));
                    spans.push(Span::styled("│ ", theme.dim()));
                    if !chunk.is_empty() {
                        spans.push(Span::raw(chunk));
                    }
                }
                out.push(Line::from(spans));
            }
        }
        for line in out {
            self.push_line(line);
        }
    }

    fn render_table(&mut self, table: TableState) {
        let cols = table.rows.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
        if cols == 0 {
            return;
        }
        let dim = self.theme.dim();
        let rows: Vec<(bool, Vec<Vec<Span<'static>>>)> = table
            .rows
            .into_iter()
            .map(|(header, cells)| {
                let cells = cells
                    .into_iter()
                    .map(|cell| {
                        let mut cell: Vec<Span<'static>> = if header {
                            cell.into_iter()
                                .map(|s| s.patch_style(Modifier::BOLD))
                                .collect()
                        } else {
                            cell
                        };
                        trim_trailing_whitespace(&mut cell);
                        cell
                    })
                    .collect();
                (header, cells)
            })
            .collect();
        let mut widths = vec![0; cols];
        for (_, cells) in &rows {
            for (w, cell) in widths.iter_mut().zip(cells) {
                *w = (*w).max(spans_width(cell));
            }
        }
        let (first, rest) = self.prefixes();
        let avail = self.avail(&rest);
        let total = widths.iter().sum::<usize>() + 3 * (cols - 1);
        let mut first = Some(first);
        let mut out = Vec::new();
        for (header, cells) in rows {
            let prefix = first.take().unwrap_or_else(|| rest.clone());
            if total <= avail {
                let mut spans = prefix;
                for (i, width) in widths.iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::styled(" │ ", dim));
                    }
                    let cell = cells.get(i).cloned().unwrap_or_default();
                    let slack = width.saturating_sub(spans_width(&cell));
                    let align = table.aligns.get(i).copied().unwrap_or(Alignment::None);
                    let (left, right) = match align {
                        Alignment::Right => (slack, 0),
                        Alignment::Center => (slack / 2, slack - slack / 2),
                        Alignment::None | Alignment::Left => (0, slack),
                    };
                    if left > 0 {
                        spans.push(Span::raw(" ".repeat(left)));
                    }
                    spans.extend(cell);
                    if right > 0 && i + 1 < cols {
                        spans.push(Span::raw(" ".repeat(right)));
                    }
                }
                out.push(Line::from(spans));
                if header {
                    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                    let mut spans = rest.clone();
                    spans.push(Span::styled(rule.join("─┼─"), dim));
                    out.push(Line::from(spans));
                }
            } else {
                // Too wide to align: keep the cells in order and let them wrap.
                let mut spans = Vec::new();
                for (i, cell) in cells.into_iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::styled(" │ ", dim));
                    }
                    spans.extend(cell);
                }
                out.extend(wrap(spans, self.width, prefix, rest.clone()));
                if header {
                    let mut spans = rest.clone();
                    spans.push(Span::styled("─".repeat(avail.max(1)), dim));
                    out.push(Line::from(spans));
                }
            }
        }
        for line in out {
            self.push_line(line);
        }
    }
}

fn code_language(info: &str) -> Option<String> {
    let word = info
        .split(|c: char| c.is_whitespace() || c == ',')
        .next()?
        .trim_matches(|c| c == '{' || c == '}' || c == '.');
    let clean: String = word.chars().filter(|c| !c.is_control()).collect();
    (!clean.is_empty()).then_some(clean)
}

fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = 4 - col % 4;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else if !c.is_control() {
            out.push(c);
            col += c.width().unwrap_or(0);
        }
    }
    out
}

/// Cuts `text` into pieces of at most `cap` columns (a piece holds at least one character).
fn hard_cut(text: &str, cap: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut width = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if width + w > cap && width > 0 {
            pieces.push(String::new());
            width = 0;
        }
        if let Some(piece) = pieces.last_mut() {
            piece.push(c);
        }
        width += w;
    }
    pieces
}

fn pad(mut text: String, width: usize) -> String {
    let w = text.width();
    if w < width {
        text.extend(std::iter::repeat_n(' ', width - w));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# Ownership in Rust

Rust has *ownership*, **borrowing** and ~~garbage collection~~ lifetimes. Call `Vec::new()` to start.
A soft break joins lines,  
but a hard break does not.

## Steps

1. Create a value with a fairly long description that wraps.
2. Move it:
   - into a function
   - or a closure that captures it and wraps around
     - deeper still
3. Done

- [x] task done
- [ ] task open

> A quote that is long enough to wrap onto another line here.
>
> > Nested quote.

```rust
fn main() {
    let v = vec![1, 2, 3]; // a comment that is quite long and must not be reflowed
}
```

    indented code

See [the book](https://doc.rust-lang.org/book/) or <https://rust-lang.org>.

| Type | Size | Note |
|:-----|-----:|:----:|
| `u8` | 1 | small |
| u64 | 8 | big |

---

![ferris](ferris.png) and <b>html</b> 中文字符测试中文字符测试中文字符测试中文字符测试 emoji 👍🏽 done.
"#;

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    fn plain(md: &str, width: u16) -> Vec<String> {
        render(md, width, false).iter().map(text).collect()
    }

    fn raw(spans: &[&'static str]) -> Vec<Span<'static>> {
        spans.iter().map(|s| Span::raw(*s)).collect()
    }

    fn wrapped(
        s: &'static str,
        width: u16,
        first: &[&'static str],
        rest: &[&'static str],
    ) -> Vec<String> {
        wrap(vec![Span::raw(s)], width, raw(first), raw(rest))
            .iter()
            .map(text)
            .collect()
    }

    fn width_of(line: &Line<'_>) -> usize {
        spans_width(&line.spans)
    }

    fn is_blank(line: &Line<'_>) -> bool {
        // A background-filled line (empty code) is visible, so it is not blank.
        text(line).trim().is_empty() && line.spans.iter().all(|s| s.style.bg.is_none())
    }

    fn snapshot(name: &str, value: String) {
        // Without the module prefix the .snap names survive moving this file to another crate.
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, value);
        });
    }

    #[test]
    fn wrap_breaks_at_spaces_and_counts_prefixes() {
        assert_eq!(
            wrapped("aaa bbb ccc", 9, &["> "], &["  "]),
            ["> aaa bbb", "  ccc"]
        );
    }

    #[test]
    fn wrap_breaks_words_longer_than_width() {
        assert_eq!(wrapped("abcdefghij", 4, &[], &[]), ["abcd", "efgh", "ij"]);
        assert_eq!(
            wrapped("ab cdefghij", 5, &["- "], &["  "]),
            ["- ab", "  cde", "  fgh", "  ij"]
        );
    }

    #[test]
    fn wrap_keeps_newlines_and_indentation_but_not_wrap_spaces() {
        assert_eq!(
            wrapped("a\n    b c d e", 6, &[], &[]),
            ["a", "    b", "c d e"]
        );
    }

    #[test]
    fn wrap_tiny_widths_terminate() {
        assert_eq!(wrapped("abc de", 0, &[], &[]), ["a", "b", "c", "d", "e"]);
        assert_eq!(wrapped("中文", 1, &[], &[]), ["中", "文"]);
        assert_eq!(wrapped("abc", 1, &["> "], &["> "]), ["> a", "> b", "> c"]);
    }

    #[test]
    fn wrap_breaks_between_wide_characters() {
        let lines = wrapped("ab 中文字符测试", 5, &[], &[]);
        assert_eq!(lines, ["ab 中", "文字", "符测", "试"]);
        // Emoji sequences are never split across lines.
        for emoji in [
            "\u{1F468}\u{200D}\u{1F469}",
            "\u{1F44D}\u{1F3FD}",
            "e\u{301}",
        ] {
            for width in [1, 2] {
                let lines = wrap(vec![Span::raw(format!("x {emoji}"))], width, vec![], vec![]);
                assert!(lines.iter().any(|l| text(l) == emoji), "{lines:?}");
            }
        }
    }

    #[test]
    fn wrap_keeps_span_styles_on_every_line() {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let lines = wrap(
            vec![Span::raw("x "), Span::styled("one two three", bold)],
            6,
            vec![],
            vec![],
        );
        assert_eq!(
            lines.iter().map(text).collect::<Vec<_>>(),
            ["x one", "two", "three"]
        );
        for line in &lines[1..] {
            assert!(line.spans.iter().all(|s| s.style == bold), "{line:?}");
        }
        assert_eq!(lines[0].spans[0].style, Style::new());
    }

    #[test]
    fn wrap_of_nothing_is_one_prefix_line() {
        assert_eq!(wrapped("", 10, &["> "], &["  "]), ["> "]);
    }

    #[test]
    fn empty_input_renders_nothing() {
        assert!(render("", 40, true).is_empty());
        assert!(render("\n\n   \n", 40, false).is_empty());
    }

    #[test]
    fn paragraphs_are_separated_by_one_blank_line() {
        assert_eq!(
            plain("one\n\n\n\ntwo\n\nthree", 40),
            ["one", "", "two", "", "three"]
        );
    }

    #[test]
    fn soft_breaks_join_and_hard_breaks_split() {
        assert_eq!(plain("a\nb  \nc\\\nd", 40), ["a b", "c", "d"]);
    }

    #[test]
    fn headings_drop_hashes_are_bold_and_followed_by_blank() {
        let lines = render("# Title\ntext\n### Sub", 40, false);
        assert_eq!(
            lines.iter().map(text).collect::<Vec<_>>(),
            ["Title", "", "text", "", "Sub"]
        );
        let h1 = lines[0].spans[0].style;
        assert!(h1
            .add_modifier
            .contains(Modifier::BOLD | Modifier::UNDERLINED));
        assert!(lines[4].spans[0]
            .style
            .add_modifier
            .contains(Modifier::BOLD));
        assert_eq!(lines[2].spans[0].style, Style::new());
    }

    #[test]
    fn inline_code_keeps_backticks_only_without_color() {
        assert_eq!(plain("run `ls -a` now", 40), ["run `ls -a` now"]);
        let lines = render("run `ls -a` now", 40, true);
        assert_eq!(text(&lines[0]), "run ls -a now");
        let code = lines[0].spans.iter().find(|s| s.content == "ls -a");
        assert_eq!(code.map(|s| s.style.fg), Some(Some(Color::Cyan)));
    }

    #[test]
    fn emphasis_strong_and_strike_use_modifiers() {
        let lines = render("*i* **b** ~~s~~ ***bi***", 40, false);
        let style_of = |t: &str| {
            lines[0]
                .spans
                .iter()
                .find(|s| s.content == t)
                .map(|s| s.style.add_modifier)
        };
        assert_eq!(style_of("i"), Some(Modifier::ITALIC));
        assert_eq!(style_of("b"), Some(Modifier::BOLD));
        assert_eq!(style_of("s"), Some(Modifier::CROSSED_OUT));
        assert_eq!(style_of("bi"), Some(Modifier::BOLD | Modifier::ITALIC));
    }

    #[test]
    fn bullets_change_with_depth_and_wrap_with_hanging_indent() {
        let md = "- one two three four\n  - five six seven eight\n    - nine ten eleven twelve";
        assert_eq!(
            plain(md, 14),
            [
                "• one two",
                "  three four",
                "  ◦ five six",
                "    seven",
                "    eight",
                "    ▪ nine ten",
                "      eleven",
                "      twelve",
            ]
        );
    }

    #[test]
    fn ordered_items_indent_by_their_marker_width() {
        let md = "9. alpha beta gamma\n10. delta epsilon zeta";
        assert_eq!(
            plain(md, 12),
            [
                "9. alpha",
                "   beta",
                "   gamma",
                "10. delta",
                "    epsilon",
                "    zeta"
            ]
        );
    }

    #[test]
    fn loose_lists_get_blank_lines_tight_lists_do_not() {
        assert_eq!(plain("- a\n- b\n\npara", 40), ["• a", "• b", "", "para"]);
        assert_eq!(plain("- a\n\n- b", 40), ["• a", "", "• b"]);
    }

    #[test]
    fn task_list_and_empty_items_show_markers() {
        assert_eq!(
            plain("- [x] done\n- [ ] todo\n-", 40),
            ["• [x] done", "• [ ] todo", "•"]
        );
        assert_eq!(plain("1.", 40), ["1."]);
    }

    #[test]
    fn block_quote_prefixes_every_wrapped_line_and_nests() {
        let md = "> one two three four\n>\n> > five six seven";
        assert_eq!(
            plain(md, 12),
            [
                "▌ one two",
                "▌ three four",
                "▌",
                "▌ ▌ five six",
                "▌ ▌ seven"
            ]
        );
    }

    #[test]
    fn blank_between_separate_quotes_is_outside_them() {
        assert_eq!(plain("> a\n\n> b", 40), ["▌ a", "", "▌ b"]);
    }

    #[test]
    fn quote_inside_list_item_keeps_both_prefixes() {
        assert_eq!(
            plain("- item\n\n  > quoted words here", 12),
            ["• item", "", "  ▌ quoted", "  ▌ words", "  ▌ here"]
        );
    }

    #[test]
    fn code_blocks_are_cut_not_reflowed() {
        let md = "```\nfn x() {\n    let long_name = 1234567890;\n}\n```";
        let lines = plain(md, 20);
        assert_eq!(
            lines,
            [
                "  │ fn x() {",
                "  │     let long_nam",
                "  │ e = 1234567890;",
                "  │ }",
            ]
        );
        let rejoined: String = lines[1..3].iter().map(|l| &l[6..]).collect();
        assert_eq!(rejoined, "    let long_name = 1234567890;");
    }

    #[test]
    fn code_block_label_shows_language() {
        assert_eq!(
            plain("```rust ignore\nlet x = 1;\n```", 40),
            ["  ┌ rust", "  │ let x = 1;"]
        );
        assert_eq!(plain("    indented", 40), ["  │ indented"]);
    }

    #[test]
    fn code_block_with_color_fills_the_width_with_background() {
        let md = "text\n\n```py\nprint('hi')\n\n  x = 1\n```";
        let lines = render(md, 30, true);
        let code = &lines[2..];
        assert_eq!(code.len(), 4);
        for line in code {
            assert_eq!(width_of(line), 30, "{line:?}");
            assert!(line.spans.iter().all(|s| s.style.bg.is_some()), "{line:?}");
        }
        assert_eq!(text(&code[3]).trim_end(), "   x = 1");
    }

    #[test]
    fn code_block_in_list_item_aligns_under_the_text() {
        assert_eq!(
            plain("1. run:\n\n   ```\n   cargo test\n   ```", 40),
            ["1. run:", "", "     │ cargo test"]
        );
    }

    #[test]
    fn links_show_their_url_only_when_it_differs() {
        assert_eq!(
            plain(
                "[docs](https://d.rs) <https://a.io> [https://b.io](https://b.io)",
                80
            ),
            ["docs (https://d.rs) https://a.io https://b.io"]
        );
        let lines = render("[docs](https://d.rs)", 80, false);
        assert!(lines[0].spans[0]
            .style
            .add_modifier
            .contains(Modifier::UNDERLINED));
        let url = lines[0].spans.iter().find(|s| s.content.contains("https"));
        assert!(
            url.is_some_and(|s| s.style.add_modifier.contains(Modifier::DIM)
                && !s.style.add_modifier.contains(Modifier::UNDERLINED))
        );
    }

    #[test]
    fn rule_spans_the_width() {
        assert_eq!(plain("a\n\n---\n\nb", 7), ["a", "", "───────", "", "b"]);
        assert_eq!(plain("> ***", 7), ["▌ ─────"]);
    }

    #[test]
    fn tables_align_columns_when_they_fit() {
        let md = "| a | bb |\n|---|---:|\n| ccc | 1 |";
        assert_eq!(plain(md, 40), ["a   │ bb", "────┼───", "ccc │  1"]);
        let lines = render(md, 40, false);
        assert!(lines[0]
            .spans
            .iter()
            .filter(|s| s.content.trim() == "a")
            .all(|s| s.style.add_modifier.contains(Modifier::BOLD)));
    }

    #[test]
    fn tables_wrap_when_too_wide() {
        let md = "| first column | second column |\n|---|---|\n| some value | another value |";
        let lines = plain(md, 16);
        assert_eq!(
            lines,
            [
                "first column │",
                "second column",
                "────────────────",
                "some value │",
                "another value",
            ]
        );
    }

    #[test]
    fn images_and_html_become_text() {
        assert_eq!(
            plain("![a cat](c.png) ![](x.png)", 40),
            ["[image: a cat] [image]"]
        );
        assert_eq!(
            plain("<div>\n  hi\n</div>", 40),
            ["<div>", "  hi", "</div>"]
        );
        assert_eq!(plain("a <span>b</span>", 40), ["a <span>b</span>"]);
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(plain("a\u{1b}[31mb\u{7}", 40), ["a[31mb"]);
        assert_eq!(plain("```\nx\u{1b}y\tz\r\n```", 40), ["  │ xy  z"]);
    }

    #[test]
    fn no_color_never_sets_fg_or_bg() {
        for width in [20, 80] {
            for line in render(SAMPLE, width, false) {
                for span in &line.spans {
                    assert_eq!((span.style.fg, span.style.bg), (None, None), "{span:?}");
                }
            }
        }
        // Guards the check above: the same document does use colors when allowed.
        let colored = render(SAMPLE, 80, true);
        assert!(colored
            .iter()
            .flat_map(|l| &l.spans)
            .any(|s| s.style.fg.is_some()));
        assert!(colored
            .iter()
            .flat_map(|l| &l.spans)
            .any(|s| s.style.bg.is_some()));
    }

    #[test]
    fn sample_fits_every_reasonable_width() {
        for width in 12..=100u16 {
            for color in [false, true] {
                let lines = render(SAMPLE, width, color);
                for line in &lines {
                    assert!(width_of(line) <= usize::from(width), "{width}: {line:?}");
                }
            }
        }
    }

    #[test]
    fn unfinished_markdown_renders_sensibly() {
        assert_eq!(
            plain("intro\n\n```rust\nfn ma", 40),
            ["intro", "", "  ┌ rust", "  │ fn ma"]
        );
        assert_eq!(plain("```", 40), ["  │ "]);
        assert_eq!(plain("some **bold", 40), ["some **bold"]);
        assert_eq!(plain("- a\n- ", 40), ["• a", "•"]);
    }

    #[test]
    fn every_prefix_renders_without_panic_or_edge_blanks() {
        let boundaries = SAMPLE.char_indices().map(|(i, _)| i).chain([SAMPLE.len()]);
        for end in boundaries {
            let prefix = &SAMPLE[..end];
            for width in [0, 1, 2, 3, 4, 7, 40] {
                let lines = render(prefix, width, width == 40);
                if let (Some(first), Some(last)) = (lines.first(), lines.last()) {
                    assert!(!is_blank(first), "{end}/{width}: leading blank");
                    assert!(!is_blank(last), "{end}/{width}: trailing blank");
                }
                if width == 40 {
                    assert!(lines.iter().all(|l| width_of(l) <= 40), "{end}");
                }
            }
        }
    }

    #[test]
    fn adversarial_inputs_do_not_panic() {
        let deep_quote = "> ".repeat(60) + "deep";
        let deep_list = (0..40)
            .map(|i| format!("{}- x\n", "  ".repeat(i)))
            .collect::<String>();
        let inputs = [
            deep_quote.as_str(),
            deep_list.as_str(),
            "999999999. big\n1000000000. bigger",
            "![![x](y)](z) [![i](j)](k)",
            "[a](<>) [](x) [b][missing]",
            "|a|b|\n|-|-|\n|c",
            "| x |\n|---|\n| `a\\|b` | extra | cells |",
            "```\n\t\t\n",
            "~~~~~~~~~~~~\n````",
            "a\r\nb\0c\u{200d}\u{301}",
            "*a **b *c d** e*",
            "<script>\nalert(1)\n",
            "- > ```\n  > code",
        ];
        for md in inputs {
            for width in [0, 1, 2, 3, 5, 8, 80, u16::MAX] {
                let lines = render(md, width, width % 2 == 0);
                assert!(!lines.first().is_some_and(is_blank), "{md:?}/{width}");
                assert!(!lines.last().is_some_and(is_blank), "{md:?}/{width}");
            }
        }
        assert_eq!(plain("999999999. big", 40), ["999999999. big"]);
        assert_eq!(plain(&deep_quote, 200)[0], "▌ ".repeat(60) + "deep");
    }

    #[test]
    fn snapshot_sample_plain() {
        snapshot("markdown_sample_40", plain(SAMPLE, 40).join("\n"));
        snapshot("markdown_sample_80", plain(SAMPLE, 80).join("\n"));
    }

    #[test]
    fn snapshot_streaming_prefix_plain() {
        let cut = SAMPLE.find("let v").unwrap_or(SAMPLE.len());
        snapshot(
            "markdown_streaming_40",
            plain(&SAMPLE[..cut], 40).join("\n"),
        );
    }

    #[test]
    fn snapshot_styles_with_color() {
        let md = "## Plan\n\nUse **`cargo`** and [docs](https://x.io).\n\n> note\n\n```sh\nls\n```\n\n---";
        let styled: Vec<String> = render(md, 24, true)
            .iter()
            .map(|line| {
                line.spans
                    .iter()
                    .map(|s| format!("{:?} {:?}", s.content, s.style))
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        snapshot("markdown_styles_color", styled.join("\n"));
    }
}
