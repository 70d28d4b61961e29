//! Exporting the account list as it is filtered (`x`): a prompt for the file (absolute, prefilled in the working
//! directory; `.json` writes JSON, anything else CSV), then every matching account — not just the loaded pages —
//! written with mode 0600, never over an existing file, and the count and absolute path said back. Text is
//! stripped of control and bidi characters in both formats. State, keys, the prompt's render, and the writer.

use std::path::{Path, PathBuf};

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{field_input, field_text, set_field_focus, text_field};
use crate::model::{ServiceAccount, sanitize};
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Model, Status};

/// The columns of a CSV export, in order.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "user_id",
    "namespace",
    "description",
    "created_at",
    "created_by",
    "expires_at",
    "last_used_at",
    "disabled",
    "namespace_id",
];

/// Opens the prompt, prefilled with `<cwd>/accounts-<namespace>.csv`.
pub fn open(model: &mut Model) {
    let name: String = model
        .current
        .as_deref()
        .map(|id| model.namespace_name(id))
        .unwrap_or_else(|| "all".into())
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let file = format!("accounts-{name}.csv");
    let path = match &model.cwd {
        Some(dir) => dir.join(file).display().to_string(),
        None => file,
    };
    let mut ta = text_field(&path);
    set_field_focus(&mut ta, true);
    model.export = Some(ta);
}

/// The prompt: Enter exports, Esc cancels.
pub fn on_key(model: &mut Model, command: Option<Command>, key: KeyEvent) -> Vec<Effect> {
    match command {
        Some(Command::Close) => model.export = None,
        Some(Command::ApplyFilter) => {
            let Some(ta) = model.export.take() else {
                return Vec::new();
            };
            let path = field_text(&ta).trim().to_string();
            if path.is_empty() {
                model.status = Status::Info("type a file to export to (Esc cancels)".into());
                model.export = Some(ta);
                return Vec::new();
            }
            let mut query = model
                .accounts
                .query(model.current.as_deref(), &model.tree, 0);
            query.offset = 0;
            query.limit = None;
            model.status = Status::Busy("exporting".into());
            return vec![Effect::Export {
                path: PathBuf::from(path),
                query,
                paths: model
                    .tree
                    .ids()
                    .map(|id| (id.clone(), model.tree.display_path(id)))
                    .collect(),
            }];
        }
        _ => {
            if let Some(ta) = model.export.as_mut() {
                field_input(ta, key);
            }
        }
    }
    Vec::new()
}

pub fn on_exported(model: &mut Model, result: Result<(PathBuf, usize), String>) {
    model.status = match result {
        Ok((path, n)) => Status::Info(format!(
            "exported {n} account{} to {} (mode 0600)",
            if n == 1 { "" } else { "s" },
            sanitize(&path.display().to_string())
        )),
        Err(e) => Status::Error {
            text: format!("not exported: {}", sanitize(&e)),
            retry: false,
        },
    };
}

/// The prompt, on the given row.
pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let Some(ta) = &model.export else {
        return;
    };
    let label = "Export to ";
    Paragraph::new(Line::from(Span::styled(label, model.theme.key()))).render(area, buf);
    let used = u16::try_from(label.len()).unwrap_or(0);
    ta.render(
        Rect {
            x: area.x.saturating_add(used).min(area.x + area.width),
            width: area.width.saturating_sub(used),
            ..area
        },
        buf,
    );
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The file's contents: JSON for a `.json` path, CSV otherwise; `paths` names each namespace id.
pub fn render_file(
    path: &Path,
    accounts: &[ServiceAccount],
    paths: &std::collections::HashMap<String, String>,
) -> Result<Vec<u8>, String> {
    let ns = |a: &ServiceAccount| sanitize(paths.get(&a.namespace_id).unwrap_or(&a.namespace_id));
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        let rows: Vec<serde_json::Value> = accounts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "id": sanitize(&a.id),
                    "userId": sanitize(&a.user_id),
                    "namespace": ns(a),
                    "namespaceId": sanitize(&a.namespace_id),
                    "description": sanitize(&a.description),
                    "createdAt": time(Some(a.created_at)),
                    "createdBy": sanitize(&a.originator_id),
                    "expiresAt": a.expires_at.map(|t| time(Some(t))),
                    "lastUsedAt": a.accessed_at.map(|t| time(Some(t))),
                    "disabled": a.disabled,
                })
            })
            .collect();
        let mut out = serde_json::to_vec_pretty(&rows).map_err(|e| e.to_string())?;
        out.push(b'\n');
        return Ok(out);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER).map_err(|e| e.to_string())?;
    for a in accounts {
        w.write_record([
            sanitize(&a.id),
            sanitize(&a.user_id),
            ns(a),
            sanitize(&a.description),
            time(Some(a.created_at)),
            sanitize(&a.originator_id),
            time(a.expires_at),
            time(a.accessed_at),
            a.disabled.to_string(),
            sanitize(&a.namespace_id),
        ])
        .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}
