//! Checks the parser against the hand-worked expectations of the SSE byte corpus.
//!
//! `fixtures/sse/CORPUS.md` has a table ("## Cases") with one row per `*.sse` file
//! and, in its "expected" column, the result worked out by hand from WHATWG HTML
//! §9.2.5–§9.2.6 in a small notation (explained at the top of CORPUS.md):
//!
//! ```text
//! events: [TYPE "DATA" id="LAST_EVENT_ID", ...]; comments: N [...]; retry: [...]; end last_event_id="..."
//! ```
//!
//! This test parses that notation (escapes, `"x"×N` repetition, `(N chars)` length
//! annotations, the `N × [EVENT] for n = A, B, …, Z in order` template, and the
//! `(see note)` marker) and, for every row, feeds the matching file to [`Parser`]
//! whole, cut at every byte position into two chunks, and one byte at a time. Each
//! time the parser's output must equal the expectation exactly: the events (type,
//! data, last event ID, in order), the comment texts in order, the valid `retry`
//! values in order, and the last event ID (and reconnection time) at the end.
//!
//! A row whose expectation cannot be parsed fails the test with the reason; no
//! row is skipped. The table and the folder must also match one to one.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use pulsecheck_sse::{Item, Parser};

// ---------------------------------------------------------------------------
// What a run of the parser produced, or what a row expects, as decoded text.
// ---------------------------------------------------------------------------

/// One dispatched event, decoded (invalid UTF-8 as U+FFFD).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ev {
    event_type: String,
    data: String,
    last_event_id: String,
}

/// Everything a row's "expected" cell describes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Outcome {
    events: Vec<Ev>,
    comments: Vec<String>,
    retries: Vec<u64>,
    end_last_event_id: String,
    /// Not written in the table: it is implied by `retries` (the last valid
    /// `retry` wins), and checked against [`pulsecheck_sse::End::retry_ms`].
    end_retry_ms: Option<u64>,
}

/// Feeds `chunks` in order to a fresh parser and collects what it reports.
fn run<'c>(chunks: impl IntoIterator<Item = &'c [u8]>) -> Result<Outcome, String> {
    let mut parser = Parser::new();
    let mut out = Outcome::default();
    for chunk in chunks {
        parser
            .feed(chunk, |item| match item {
                Item::Event(e) => out.events.push(Ev {
                    event_type: e.event_type.to_str().into_owned(),
                    data: e.data.to_str().into_owned(),
                    last_event_id: e.last_event_id.to_str().into_owned(),
                }),
                Item::Comment(c) => out.comments.push(c.text.to_str().into_owned()),
                Item::Retry(r) => out.retries.push(r.ms),
                // Ignored lines (unknown fields, bad retry, id with NUL, ...) are
                // not part of the notation.
                _ => {}
            })
            .map_err(|e| format!("parser returned an error: {e}"))?;
    }
    let end = parser.finish();
    out.end_last_event_id = String::from_utf8_lossy(end.last_event_id).into_owned();
    out.end_retry_ms = end.retry_ms;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Reading CORPUS.md
// ---------------------------------------------------------------------------

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sse")
}

fn read_corpus_md() -> String {
    let path = corpus_dir().join("CORPUS.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The lines of the `## NAME` section, with their 1-based line numbers.
fn section<'a>(md: &'a str, name: &str) -> Vec<(usize, &'a str)> {
    let heading = format!("## {name}");
    let mut inside = false;
    let mut out = Vec::new();
    for (i, line) in md.lines().enumerate() {
        if line.starts_with("## ") {
            inside = line.trim_end() == heading;
            continue;
        }
        if inside {
            out.push((i + 1, line));
        }
    }
    out
}

/// One row of the "## Cases" table.
#[derive(Debug, Clone)]
struct Row {
    line: usize,
    file: String,
    bytes: String,
    expected: String,
}

/// Splits a GFM table line into cells: on `|` not escaped as `\|` (GFM splits a
/// table line there even inside a code span), then `\|` becomes `|`.
fn table_cells(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cell.push('|');
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    Some(cells.into_iter().map(|c| c.trim().to_owned()).collect())
}

/// Text between one leading and one trailing backtick, with no backtick inside.
fn code_span(cell: &str) -> Option<&str> {
    let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
    (!inner.contains('`')).then_some(inner)
}

/// The rows of the "## Cases" table, and a message for every line of it that is
/// not a well-formed row.
fn read_rows(md: &str) -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let table: Vec<_> = section(md, "Cases")
        .into_iter()
        .filter(|(_, l)| l.trim_start().starts_with('|'))
        .collect();
    let mut lines = table.iter();
    match lines.next().and_then(|(_, l)| table_cells(l)) {
        Some(h) if h == ["file", "bytes", "source", "expected"] => {}
        other => {
            errors.push(format!(
                "CORPUS.md: the \"## Cases\" table header is not `| file | bytes | source | expected |` (got {other:?})"
            ));
            return (rows, errors);
        }
    }
    match lines.next().and_then(|(_, l)| table_cells(l)) {
        Some(sep)
            if sep.len() == 4
                && sep
                    .iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':'))) => {}
        other => errors.push(format!(
            "CORPUS.md: the \"## Cases\" table has no separator line (got {other:?})"
        )),
    }
    for &(line, text) in lines {
        let Some(cells) = table_cells(text) else {
            errors.push(format!("CORPUS.md line {line}: not a table row: {text}"));
            continue;
        };
        if cells.len() != 4 {
            errors.push(format!(
                "CORPUS.md line {line}: expected 4 cells, found {}: {text}",
                cells.len()
            ));
            continue;
        }
        let (Some(file), Some(expected)) = (code_span(&cells[0]), code_span(&cells[3])) else {
            errors.push(format!(
                "CORPUS.md line {line}: the file and expected cells must each be one `code span`: {text}"
            ));
            continue;
        };
        rows.push(Row {
            line,
            file: file.to_owned(),
            bytes: cells[1].clone(),
            expected: expected.to_owned(),
        });
    }
    if rows.is_empty() {
        errors.push("CORPUS.md: the \"## Cases\" table has no rows".to_owned());
    }
    (rows, errors)
}

/// Whether "## Notes on individual rows" has a bullet that starts with or
/// mentions `file` in its first line.
fn has_note_for(md: &str, file: &str) -> bool {
    let tick = format!("`{file}`");
    section(md, "Notes on individual rows")
        .iter()
        .any(|(_, l)| l.starts_with("- ") && l.contains(&tick))
}

// ---------------------------------------------------------------------------
// The expectation notation
// ---------------------------------------------------------------------------

/// A `retry` entry as written: digits, possibly beyond `u64`, possibly marked
/// `(see note)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RetryExp {
    digits: String,
    /// `None` when the integer does not fit in `u64`.
    value: Option<u64>,
    see_note: bool,
}

/// A parsed "expected" cell, before `(see note)` entries are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expectation {
    events: Vec<Ev>,
    comments: Vec<String>,
    retries: Vec<RetryExp>,
    end_last_event_id: String,
}

struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn err(&self, msg: &str) -> String {
        let rest: String = self.rest().chars().take(40).collect();
        let more = if self.rest().chars().count() > 40 {
            "…"
        } else {
            ""
        };
        format!(
            "{msg} at byte {} of the cell, before {rest:?}{more}",
            self.pos
        )
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &str) -> Result<(), String> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {lit:?}")))
        }
    }

    /// One or more ASCII digits, as written.
    fn digits(&mut self) -> Result<&'a str, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("expected a decimal integer"));
        }
        Ok(&self.src[start..self.pos])
    }

    fn usize(&mut self) -> Result<usize, String> {
        let at = self.pos;
        let d = self.digits()?;
        d.parse().map_err(|_| {
            self.pos = at;
            self.err("integer too large")
        })
    }

    /// `"..."` with escapes, then optionally `×N`, then optionally ` (N chars)`.
    fn string(&mut self) -> Result<String, String> {
        self.expect("\"")?;
        let mut s = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(self.err("unterminated string")),
                Some('"') => break,
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('r') => s.push('\r'),
                    Some('t') => s.push('\t'),
                    Some('\\') => s.push('\\'),
                    Some('"') => s.push('"'),
                    Some('u') => {
                        let hex = self.rest().get(..4).unwrap_or("");
                        let code = (hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                            .then(|| u32::from_str_radix(hex, 16).ok())
                            .flatten()
                            .and_then(char::from_u32);
                        match code {
                            Some(c) => {
                                self.pos += 4;
                                s.push(c);
                            }
                            None => {
                                self.pos = at;
                                return Err(
                                    self.err("bad \\u escape (want 4 hex digits, no surrogate)")
                                );
                            }
                        }
                    }
                    _ => {
                        self.pos = at;
                        return Err(self.err("unknown escape"));
                    }
                },
                Some(c) if c.is_control() => {
                    self.pos = at;
                    return Err(self.err("raw control character in a string (must be escaped)"));
                }
                Some(c) => s.push(c),
            }
        }
        if self.eat("×") {
            let n = self.usize()?;
            s = s.repeat(n);
        }
        if self.rest().starts_with(" (")
            && self.rest()[2..].starts_with(|c: char| c.is_ascii_digit())
        {
            let at = self.pos;
            self.expect(" (")?;
            let n = self.usize()?;
            self.expect(" chars)")?;
            let len = s.chars().count();
            if len != n {
                self.pos = at;
                return Err(self.err(&format!(
                    "length annotation says {n} chars, the string has {len}"
                )));
            }
        }
        Ok(s)
    }

    /// `TYPE "DATA" id="ID"`, TYPE bare (`[A-Za-z0-9_.-]+`) or `type="..."`.
    fn event(&mut self) -> Result<Ev, String> {
        let event_type = if self.eat("type=") {
            self.string()?
        } else {
            let start = self.pos;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            {
                self.pos += 1;
            }
            if self.pos == start {
                return Err(self.err("expected an event type (bare word or type=\"...\")"));
            }
            self.src[start..self.pos].to_owned()
        };
        self.expect(" ")?;
        let data = self.string()?;
        self.expect(" id=")?;
        let last_event_id = self.string()?;
        Ok(Ev {
            event_type,
            data,
            last_event_id,
        })
    }

    /// `[E, E, ...]` or `COUNT × [E] for n = A, B, …, Z in order` (`<n>` in E's
    /// strings stands for n in decimal).
    fn events(&mut self) -> Result<Vec<Ev>, String> {
        if self.eat("[") {
            let mut events = Vec::new();
            if self.eat("]") {
                return Ok(events);
            }
            loop {
                events.push(self.event()?);
                if self.eat(", ") {
                    continue;
                }
                self.expect("]")?;
                return Ok(events);
            }
        }
        let count_at = self.pos;
        let count = self.usize()?;
        self.expect(" × [")?;
        let template = self.event()?;
        self.expect("] for n = ")?;
        let first = self.usize()?;
        self.expect(", ")?;
        let second = self.usize()?;
        self.expect(", …, ")?;
        let last = self.usize()?;
        self.expect(" in order")?;
        let step = second.checked_sub(first).filter(|s| *s > 0);
        let values: Vec<usize> = match step {
            Some(step) if last >= first && (last - first) % step == 0 => {
                (first..=last).step_by(step).collect()
            }
            _ => {
                self.pos = count_at;
                return Err(self.err(&format!(
                    "the sequence {first}, {second}, …, {last} is not increasing arithmetic"
                )));
            }
        };
        if values.len() != count {
            self.pos = count_at;
            return Err(self.err(&format!(
                "{count} × [...] but the sequence has {} values",
                values.len()
            )));
        }
        let subst = |s: &str, n: usize| s.replace("<n>", &n.to_string());
        Ok(values
            .into_iter()
            .map(|n| Ev {
                event_type: subst(&template.event_type, n),
                data: subst(&template.data, n),
                last_event_id: subst(&template.last_event_id, n),
            })
            .collect())
    }

    /// `N` (no list when N is 0) or `N ["...", ...]` with N the list's length.
    fn comments(&mut self) -> Result<Vec<String>, String> {
        let at = self.pos;
        let count = self.usize()?;
        let mut comments = Vec::new();
        if self.eat(" [") && !self.eat("]") {
            loop {
                comments.push(self.string()?);
                if self.eat(", ") {
                    continue;
                }
                self.expect("]")?;
                break;
            }
        }
        if comments.len() != count {
            self.pos = at;
            return Err(self.err(&format!(
                "comment count {count} but {} comment texts listed",
                comments.len()
            )));
        }
        Ok(comments)
    }

    /// `none` or `[INT, INT (see note), ...]`.
    fn retries(&mut self) -> Result<Vec<RetryExp>, String> {
        if self.eat("none") {
            return Ok(Vec::new());
        }
        self.expect("[")?;
        let mut retries = Vec::new();
        if self.eat("]") {
            return Ok(retries);
        }
        loop {
            let digits = self.digits()?.to_owned();
            let value = digits.bytes().try_fold(0u64, |v, d| {
                v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            });
            let see_note = self.eat(" (see note)");
            retries.push(RetryExp {
                digits,
                value,
                see_note,
            });
            if self.eat(", ") {
                continue;
            }
            self.expect("]")?;
            return Ok(retries);
        }
    }
}

fn parse_expectation(src: &str) -> Result<Expectation, String> {
    let mut c = Cursor { src, pos: 0 };
    c.expect("events: ")?;
    let events = c.events()?;
    c.expect("; comments: ")?;
    let comments = c.comments()?;
    c.expect("; retry: ")?;
    let retries = c.retries()?;
    c.expect("; end last_event_id=")?;
    let end_last_event_id = c.string()?;
    if !c.rest().is_empty() {
        return Err(c.err("unexpected text after the end last_event_id"));
    }
    Ok(Expectation {
        events,
        comments,
        retries,
        end_last_event_id,
    })
}

/// Turns a parsed expectation into the exact output the parser must produce.
///
/// A `retry` value beyond `u64::MAX` cannot be represented; only an entry marked
/// `(see note)` whose file has a bullet under "Notes on individual rows" is
/// accepted, and is resolved by the parser's documented policy. That note
/// (`edge-retry-huge.sse`) says the spec sets no bound and leaves the choice to
/// the implementation, as long as it does not panic or wrap and later `retry`
/// lines still take effect. `pulsecheck-sse` documents (`Retry::ms`: "Values
/// beyond `u64::MAX` saturate") and implements (`parse_retry`, saturating
/// multiply/add) saturation, so such an entry is expected as `u64::MAX`; the
/// entries after it are checked as written.
fn resolve(exp: Expectation, file: &str, md: &str) -> Result<Outcome, String> {
    let mut retries = Vec::with_capacity(exp.retries.len());
    for r in &exp.retries {
        match (r.value, r.see_note) {
            (Some(v), _) => retries.push(v),
            (None, true) if has_note_for(md, file) => retries.push(u64::MAX),
            (None, true) => {
                return Err(format!(
                    "retry {} is marked (see note) but \"## Notes on individual rows\" has no note for `{file}`",
                    r.digits
                ));
            }
            (None, false) => {
                return Err(format!(
                    "retry {} exceeds u64::MAX and the row does not say how to treat it",
                    r.digits
                ));
            }
        }
    }
    Ok(Outcome {
        end_retry_ms: retries.last().copied(),
        events: exp.events,
        comments: exp.comments,
        retries,
        end_last_event_id: exp.end_last_event_id,
    })
}

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

/// A string for a message: `{:?}`-escaped, shortened when long.
fn short(s: &str) -> String {
    let n = s.chars().count();
    if n <= 80 {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(60).collect();
        format!("{head:?}… ({n} chars)")
    }
}

fn short_ev(e: &Ev) -> String {
    format!(
        "[{} {} id={}]",
        short(&e.event_type),
        short(&e.data),
        short(&e.last_event_id)
    )
}

fn diff_list<T>(out: &mut String, what: &str, exp: &[T], got: &[T], show: impl Fn(&T) -> String)
where
    T: PartialEq,
{
    if exp == got {
        return;
    }
    if exp.len() != got.len() {
        let _ = writeln!(
            out,
            "      {what}: expected {} item(s), got {}",
            exp.len(),
            got.len()
        );
    }
    match exp.iter().zip(got).position(|(a, b)| a != b) {
        Some(i) => {
            let _ = writeln!(
                out,
                "      {what}[{i}]: expected {}, got {}",
                show(&exp[i]),
                show(&got[i])
            );
        }
        None => {
            let n = exp.len().min(got.len());
            for e in exp.iter().skip(n).take(3) {
                let _ = writeln!(out, "      {what}: missing {}", show(e));
            }
            for g in got.iter().skip(n).take(3) {
                let _ = writeln!(out, "      {what}: unexpected {}", show(g));
            }
        }
    }
}

fn diff(exp: &Outcome, got: &Outcome) -> String {
    let mut out = String::new();
    diff_list(&mut out, "events", &exp.events, &got.events, short_ev);
    diff_list(&mut out, "comments", &exp.comments, &got.comments, |s| {
        short(s)
    });
    diff_list(
        &mut out,
        "retry",
        &exp.retries,
        &got.retries,
        u64::to_string,
    );
    if exp.end_last_event_id != got.end_last_event_id {
        let _ = writeln!(
            out,
            "      end last_event_id: expected {}, got {}",
            short(&exp.end_last_event_id),
            short(&got.end_last_event_id)
        );
    }
    if exp.end_retry_ms != got.end_retry_ms {
        let _ = writeln!(
            out,
            "      end retry_ms: expected {:?}, got {:?}",
            exp.end_retry_ms, got.end_retry_ms
        );
    }
    out
}

/// Runs every chunking of `bytes`; describes each chunking that disagrees.
fn check_chunkings(bytes: &[u8], expected: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let judge = |got: Result<Outcome, String>| match got {
        Ok(got) if got == *expected => None,
        Ok(got) => Some(diff(expected, &got)),
        Err(e) => Some(format!("      {e}\n")),
    };

    if let Some(d) = judge(run([bytes])) {
        problems.push(format!("    fed whole:\n{d}"));
    }

    // Two chunks, cut at every position (0 and len give an empty chunk).
    let mut bad_cuts = Vec::new();
    let mut first_diff = None;
    for cut in 0..=bytes.len() {
        let (a, b) = bytes.split_at(cut);
        if let Some(d) = judge(run([a, b])) {
            bad_cuts.push(cut);
            first_diff.get_or_insert(d);
        }
    }
    if let Some(d) = first_diff {
        let shown: Vec<String> = bad_cuts.iter().take(10).map(usize::to_string).collect();
        let more = if bad_cuts.len() > 10 { ", …" } else { "" };
        problems.push(format!(
            "    cut in two at {} of {} positions (at {}{more}); first of them:\n{d}",
            bad_cuts.len(),
            bytes.len() + 1,
            shown.join(", ")
        ));
    }

    if let Some(d) = judge(run(bytes.chunks(1))) {
        problems.push(format!("    fed byte by byte:\n{d}"));
    }
    problems
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// The `*.sse` files in the corpus folder.
fn sse_files() -> BTreeSet<String> {
    let dir = corpus_dir();
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .file_name()
                .into_string()
                .unwrap_or_else(|name| panic!("non-UTF-8 file name {name:?}"))
        })
        .filter(|name| name.ends_with(".sse"))
        .collect()
}

#[test]
fn every_file_has_a_row_and_every_row_a_file() {
    let md = read_corpus_md();
    let (rows, mut problems) = read_rows(&md);
    let files = sse_files();

    let mut seen = BTreeSet::new();
    for row in &rows {
        if !seen.insert(row.file.as_str()) {
            problems.push(format!(
                "CORPUS.md line {}: `{}` has more than one row",
                row.line, row.file
            ));
        }
        if !files.contains(&row.file) {
            problems.push(format!(
                "CORPUS.md line {}: row for `{}`, but there is no such file in fixtures/sse/",
                row.line, row.file
            ));
            continue;
        }
        // The "bytes" column is the file's size; a mismatch means the file is not
        // the body the row was worked out for.
        let size = std::fs::metadata(corpus_dir().join(&row.file)).map(|m| m.len());
        match (row.bytes.parse::<u64>(), size) {
            (Ok(want), Ok(have)) if want == have => {}
            (Ok(want), Ok(have)) => problems.push(format!(
                "CORPUS.md line {}: `{}` is {have} bytes, the row says {want}",
                row.line, row.file
            )),
            (Err(_), _) => problems.push(format!(
                "CORPUS.md line {}: bytes column {:?} is not an integer",
                row.line, row.bytes
            )),
            (_, Err(e)) => problems.push(format!("cannot stat `{}`: {e}", row.file)),
        }
    }
    for file in &files {
        if !seen.contains(file.as_str()) {
            problems.push(format!("fixtures/sse/{file} has no row in CORPUS.md"));
        }
    }
    assert!(
        problems.is_empty(),
        "CORPUS.md and fixtures/sse/ disagree:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn parser_output_matches_every_row() {
    let md = read_corpus_md();
    let (rows, mut failures) = read_rows(&md);
    let mut passed = 0usize;
    for row in &rows {
        let expected =
            match parse_expectation(&row.expected).and_then(|e| resolve(e, &row.file, &md)) {
                Ok(expected) => expected,
                Err(e) => {
                    failures.push(format!(
                        "CORPUS.md line {} (`{}`): cannot parse the expected cell: {e}",
                        row.line, row.file
                    ));
                    continue;
                }
            };
        let path = corpus_dir().join(&row.file);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                failures.push(format!(
                    "`{}`: cannot read {}: {e}",
                    row.file,
                    path.display()
                ));
                continue;
            }
        };
        let problems = check_chunkings(&bytes, &expected);
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!(
                "`{}` (CORPUS.md line {}) disagrees with the parser:\n{}",
                row.file,
                row.line,
                problems.join("")
            ));
        }
    }
    eprintln!(
        "corpus: {passed} of {} rows match the parser whole, at every two-chunk cut and byte by byte",
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} corpus rows failed:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// The notation reader itself: what it accepts, and that it refuses what it
/// cannot read instead of guessing.
#[test]
fn expectation_notation_is_read_strictly() {
    let ok = parse_expectation(
        r#"events: [message "a\u0000\n\"\\" id="", type="x y" "z"×3 (3 chars) id="\uFEFF"]; comments: 2 ["", " a"]; retry: [0, 18446744073709551615]; end last_event_id="…""#,
    )
    .expect("a well-formed cell");
    assert_eq!(
        ok.events,
        [
            Ev {
                event_type: "message".into(),
                data: "a\0\n\"\\".into(),
                last_event_id: String::new(),
            },
            Ev {
                event_type: "x y".into(),
                data: "zzz".into(),
                last_event_id: "\u{FEFF}".into(),
            },
        ]
    );
    assert_eq!(ok.comments, ["", " a"]);
    assert_eq!(
        ok.retries.iter().map(|r| r.value).collect::<Vec<_>>(),
        [Some(0), Some(u64::MAX)]
    );
    assert_eq!(ok.end_last_event_id, "…");

    let template = parse_expectation(
        r#"events: 3 × [message "<n>" id="i<n>"] for n = 5, 7, …, 9 in order; comments: 0; retry: none; end last_event_id="""#,
    )
    .expect("a template");
    let data: Vec<_> = template
        .events
        .iter()
        .map(|e| (e.data.as_str(), e.last_event_id.as_str()))
        .collect();
    assert_eq!(data, [("5", "i5"), ("7", "i7"), ("9", "i9")]);

    let huge = parse_expectation(
        r#"events: []; comments: 0; retry: [18446744073709551616 (see note), 1]; end last_event_id="""#,
    )
    .expect("an oversized retry still parses");
    assert_eq!(huge.retries[0].value, None);
    assert!(huge.retries[0].see_note);
    let md = "## Notes on individual rows\n\n- `x.sse`: see here.\n";
    assert_eq!(
        resolve(huge.clone(), "x.sse", md).map(|o| o.retries),
        Ok(vec![u64::MAX, 1])
    );
    assert!(resolve(huge, "y.sse", md).is_err(), "no note for the file");
    let unmarked = parse_expectation(
        r#"events: []; comments: 0; retry: [18446744073709551616]; end last_event_id="""#,
    )
    .expect("parses");
    assert!(
        resolve(unmarked, "x.sse", md).is_err(),
        "oversized without (see note)"
    );

    for bad in [
        "",
        r#"events: [message "a"]; comments: 0; retry: none; end last_event_id="""#,
        r#"events: [message "a" id=""]; comments: 1; retry: none; end last_event_id="""#,
        r#"events: [message "a" id=""]; comments: 0 ["x"]; retry: none; end last_event_id="""#,
        r#"events: [message "a\q" id=""]; comments: 0; retry: none; end last_event_id="""#,
        r#"events: [message "a\uD800" id=""]; comments: 0; retry: none; end last_event_id="""#,
        r#"events: [message "ab"×2 (3 chars) id=""]; comments: 0; retry: none; end last_event_id="""#,
        r#"events: [message "a" id=""]; comments: 0; retry: [1.5]; end last_event_id="""#,
        r#"events: [message "a" id=""]; comments: 0; retry: maybe; end last_event_id="""#,
        r#"events: [message "a" id=""]; comments: 0; retry: none; end last_event_id="" extra"#,
        r#"events: [mess age "a" id=""]; comments: 0; retry: none; end last_event_id="""#,
        r#"events: 4 × [message "<n>" id=""] for n = 0, 1, …, 2 in order; comments: 0; retry: none; end last_event_id="""#,
        "events: [message \"a\tb\" id=\"\"]; comments: 0; retry: none; end last_event_id=\"\"",
    ] {
        assert!(
            parse_expectation(bad).is_err(),
            "accepted a malformed cell: {bad:?}"
        );
    }

    // A wrong expectation is reported for every way of feeding the bytes.
    let right = Outcome {
        events: vec![Ev {
            event_type: "message".into(),
            data: "a".into(),
            last_event_id: String::new(),
        }],
        ..Outcome::default()
    };
    assert!(check_chunkings(b"data: a\n\n", &right).is_empty());
    let mut wrong = right.clone();
    wrong.events[0].data = "b".into();
    assert_eq!(check_chunkings(b"data: a\n\n", &wrong).len(), 3);

    assert_eq!(
        table_cells(r"| `a` | 1 | x | `b \| c` |"),
        Some(vec!["`a`".into(), "1".into(), "x".into(), "`b | c`".into()])
    );
}
