//! Exact percentiles from sorted samples, and the `metric | target | measured` table the benchmark prints.

use std::time::Duration;

/// The sample at rank `ceil(n * pct / 100)` of the sorted set (the nearest-rank definition).
pub fn percentile(sorted: &[Duration], pct: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * pct / 100.0).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

pub fn per_sec(v: f64) -> String {
    format!("{v:.0}/s")
}

#[derive(Default)]
pub struct Table {
    rows: Vec<[String; 3]>,
}

impl Table {
    pub fn row(&mut self, metric: impl Into<String>, target: impl Into<String>, measured: String) {
        self.rows.push([metric.into(), target.into(), measured]);
    }

    /// Aligned columns separated by ` | `, with a header and a rule under it.
    pub fn render(&self) -> String {
        let header = ["metric", "target", "measured"].map(String::from);
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 3]| {
            cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join(" | ")
                .trim_end()
                .to_string()
        };
        let rule = widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-");
        let mut out = vec![line(&header), rule];
        out.extend(self.rows.iter().map(line));
        out.join("\n")
    }
}
