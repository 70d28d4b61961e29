//! Latency samples summarised as median and p95 (sort, take the element at the rank), and the
//! `metric | target | measured | result` table the benchmark prints.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub n: usize,
    pub median: Duration,
    pub p95: Duration,
}

/// The median is the middle sample of the sorted set (the upper middle for an even count).
pub fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort_unstable();
    let n = samples.len();
    if n == 0 {
        return Summary {
            n,
            median: Duration::ZERO,
            p95: Duration::ZERO,
        };
    }
    let p95_rank = (n * 95).div_ceil(100).max(1) - 1;
    Summary {
        n,
        median: samples[n / 2],
        p95: samples[p95_rank],
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

impl Summary {
    pub fn describe(&self) -> String {
        format!("{} (p95 {}, n={})", ms(self.median), ms(self.p95), self.n)
    }
}

/// Whether a measured value met its target; `None` for informational rows.
pub fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "ok",
        Some(false) => "MISS",
        None => "-",
    }
}

#[derive(Default)]
pub struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    pub fn row(&mut self, metric: &str, target: &str, measured: String, ok: Option<bool>) {
        self.rows.push([
            metric.to_string(),
            target.to_string(),
            measured,
            verdict(ok).to_string(),
        ]);
    }

    /// Aligned columns separated by ` | `, with a header and a rule under it.
    pub fn render(&self) -> String {
        let header = ["metric", "target", "measured", "result"].map(String::from);
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String; 4]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            padded.join(" | ").trim_end().to_string()
        };
        let mut out = line(&header);
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("-|-"));
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out
    }
}
