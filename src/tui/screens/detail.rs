//! The detail panel: every field of one account (kind, namespace path, dates absolute and relative, markers).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{centered, modal, row};
use crate::model::{ServiceAccount, sanitize};
use crate::tui::format::{self, ExpiryMark, fit};
use crate::tui::state::Model;

pub fn render(model: &Model, a: &ServiceAccount, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let now = model.wall;
    let kind = match model.kind_of(&a.user_id) {
        Some(true) => "impersonated (a directory user)",
        Some(false) => "unique",
        None => "…",
    };
    let namespace = if model.tree.get(&a.namespace_id).is_some() {
        sanitize(&model.tree.display_path(&a.namespace_id))
    } else {
        sanitize(&a.namespace_id)
    };
    let inherited = model
        .current
        .as_deref()
        .is_some_and(|c| c != a.namespace_id);
    let marks = format::marks(a, now);
    let expires = match a.expires_at {
        Some(t) => format!(
            "{} ({})",
            format::datetime(t),
            format::expires(Some(t), now)
        ),
        None => "never".into(),
    };
    let last_used = match a.accessed_at {
        Some(t) => format!("{} ({})", format::datetime(t), format::ago(t, now)),
        None => "never".into(),
    };
    let mut flags = Vec::new();
    match marks.expiry {
        ExpiryMark::Expired => flags.push("✗ expired"),
        ExpiryMark::Soon => flags.push("! expires within 7 days"),
        ExpiryMark::Never => flags.push("∞ never expires"),
        ExpiryMark::Fine => {}
    }
    if marks.unused {
        flags.push("z unused for 90 days");
    }
    let mut rows: Vec<(&str, String)> = vec![
        ("User ID", sanitize(&a.user_id)),
        ("Kind", kind.to_string()),
        ("ID", sanitize(&a.id)),
        (
            "Namespace",
            if inherited {
                format!("{namespace} (inherited)")
            } else {
                namespace
            },
        ),
        ("Description", sanitize(&a.description)),
        ("Expires", expires),
        ("Last used", last_used),
        ("Created", format::datetime(a.created_at)),
        ("Modified", format::datetime(a.modified_at)),
    ];
    if !a.originator_id.is_empty() {
        rows.push(("Originator", sanitize(&a.originator_id)));
    }
    if !flags.is_empty() {
        rows.push(("Audit", flags.join(", ")));
    }
    let outer = centered(area, 78, rows.len() as u16 + 4);
    let inner = modal(outer, "Account", theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let label_w = 13usize;
    for (i, (label, value)) in rows.iter().enumerate() {
        Paragraph::new(Line::from(vec![
            Span::styled(format!("{label:<label_w$}"), theme.dim()),
            Span::raw(fit(value, w.saturating_sub(label_w))),
        ]))
        .render(row(inner, i as u16), buf);
    }
    if inner.height as usize > rows.len() + 1 {
        Paragraph::new(Line::styled(
            fit("e edit · r rotate · d delete · Esc close", w),
            theme.dim(),
        ))
        .render(row(inner, inner.height - 1), buf);
    }
}
