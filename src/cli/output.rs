//! How the CLI writes results: aligned text tables, JSON and CSV, relative times ("in 12d", "expired 3d ago"),
//! and the rule that no output format carries a character that could steer a terminal: tables and CSV drop
//! them, JSON escapes them (so a program still reads the exact value).

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use unicode_width::UnicodeWidthStr;

use super::CliError;
use crate::model::{is_unsafe_char, sanitize};

/// `--output` for commands that show one thing or a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// `--output` for listings, which can also be CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
}

/// A text table: a header row, then rows; columns separated by two spaces, no trailing blanks.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Widest a column may get, in terminal cells; longer cells end in `…`.
    max_widths: Vec<Option<usize>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            max_widths: vec![None; headers.len()],
        }
    }

    pub fn max_width(mut self, column: usize, width: usize) -> Table {
        if let Some(slot) = self.max_widths.get_mut(column) {
            *slot = Some(width.max(1));
        }
        self
    }

    /// Adds a row; every cell is sanitized, because tables are for terminals.
    pub fn push(&mut self, cells: Vec<String>) {
        let row = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let clean = sanitize(c);
                match self.max_widths.get(i).copied().flatten() {
                    Some(w) => truncate(&clean, w),
                    None => clean,
                }
            })
            .collect();
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[i] - cell.width()));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

pub use crate::display::fit as truncate;

/// Key/value lines for one record (`accounts show`), keys padded to one width.
pub fn render_fields(fields: &[(&str, String)]) -> String {
    let width = fields.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in fields {
        out.push_str(key);
        out.push(':');
        out.extend(std::iter::repeat_n(' ', width - key.width() + 1));
        out.push_str(&sanitize(value));
        out.push('\n');
    }
    out
}

/// RFC 3339 in UTC ending in `Z`, as the API writes times.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The EXPIRES cell: `never`, `in 12d`, or `expired 3d ago`.
pub use crate::display::expires as expires_label;
/// The LAST USED cell: `never`, or `3h ago`.
pub use crate::display::last_used as ago_label;

/// Where results go. Every format is safe to print on a terminal, whether or not stdout is one: output piped
/// to a file or `less -R` reaches a terminal later.
pub struct Stdout;

impl Stdout {
    pub fn detect() -> Stdout {
        Stdout
    }

    /// Writes `text` as is. A closed pipe (`sacon … | head`) ends the output quietly instead of failing.
    pub fn write(&self, text: &str) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(CliError::Io(format!("cannot write to stdout: {e}"))),
        }
    }

    /// A JWT alone on its line. Written in two parts so no unzeroized copy of it is made on the heap.
    pub fn secret_line(&self, secret: &str) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        match out
            .write_all(secret.as_bytes())
            .and_then(|_| out.write_all(b"\n"))
            .and_then(|_| out.flush())
        {
            Ok(()) => Ok(()),
            Err(e) => Err(CliError::Io(format!("cannot write to stdout: {e}"))),
        }
    }

    /// Pretty JSON and a newline, with every control, bidi and invisible character escaped (see [`json_text`]).
    pub fn json<T: serde::Serialize>(&self, value: &T) -> Result<(), CliError> {
        let mut text = json_text(value)?;
        text.push('\n');
        self.write(&text)
    }

    /// CSV with a header row; cells sanitized.
    pub fn csv(&self, headers: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
        let text = csv_text(headers, rows)?;
        self.write(&text)
    }
}

/// Pretty JSON in which the characters [`sanitize`] would drop are written as `\uXXXX` escapes: serde_json
/// escapes only C0 controls, and leaves C1 controls and bidi overrides raw. The escaping is exact (the text
/// decodes to the same value), and it is safe to apply to the whole text: outside strings, JSON holds only ASCII
/// punctuation, digits, letters and white space, of which only the newline is a control.
pub fn json_text<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    let raw = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Io(format!("cannot encode JSON: {e}")))?;
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c != '\n' && is_unsafe_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// CSV with a header row, every cell sanitized (line breaks in a cell become spaces).
pub fn csv_text(headers: &[&str], rows: &[Vec<String>]) -> Result<String, CliError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| CliError::Io(format!("cannot write CSV: {e}"));
    writer.write_record(headers).map_err(bad)?;
    for row in rows {
        writer
            .write_record(row.iter().map(|c| sanitize(c)))
            .map_err(bad)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| CliError::Io(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| CliError::Io(format!("cannot write CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn tables_align_sanitize_and_truncate() {
        let mut t = Table::new(&["ID", "DESCRIPTION", "X"]).max_width(1, 8);
        t.push(vec![
            "a".into(),
            "evil\u{1b}[2Jtext\u{202E}!".into(),
            "1".into(),
        ]);
        t.push(vec!["long-id".into(), "ok".into(), String::new()]);
        t.push(vec!["日本".into(), "wide".into(), "3".into()]);
        assert_eq!(
            t.render(),
            "ID       DESCRIPTION  X\n\
             a        evil[2J…     1\n\
             long-id  ok\n\
             日本     wide         3\n"
        );
    }

    #[test]
    fn truncation_counts_cells() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(truncate("日本語テキスト", 6), "日本…");
    }

    #[test]
    fn fields_line_up() {
        assert_eq!(
            render_fields(&[("ID", "x".into()), ("Last used", "never\u{1b}".into())]),
            "ID:        x\nLast used: never\n"
        );
    }

    #[test]
    fn csv_quotes_and_sanitizes() {
        let rows = vec![vec![
            "a,b".to_string(),
            "say \"hi\"\u{1b}\u{202E}\nthere".to_string(),
        ]];
        assert_eq!(
            csv_text(&["x", "y"], &rows).unwrap(),
            "x,y\n\"a,b\",\"say \"\"hi\"\" there\"\n"
        );
    }

    #[test]
    fn json_escapes_steering_characters_and_keeps_the_value() {
        let value = serde_json::json!({"d": "a\u{1b}[2J\u{9b}b\u{202E}c\u{200B}\u{7f}\n\t", "n": [1, "\u{2066}"]});
        let text = json_text(&value).unwrap();
        assert!(
            !text.chars().any(|c| c != '\n' && is_unsafe_char(c)),
            "{text}"
        );
        assert!(
            text.contains(r"\u001b[2J\u009bb\u202ec\u200b\u007f\n\t"),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn rfc3339_ends_in_z() {
        let t = Utc.with_ymd_and_hms(2027, 1, 31, 0, 0, 0).unwrap();
        assert_eq!(rfc3339(t), "2027-01-31T00:00:00Z");
        assert_eq!(date(t), "2027-01-31");
    }
}
