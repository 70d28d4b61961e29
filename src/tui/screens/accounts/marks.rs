//! "Mark all shown" (`*`): every account the list's query matches, marked at once when all are in memory,
//! else asked of the server up to `MAX_MARKS`; `*` again over a fully marked list unmarks it.

use super::MAX_MARKS;
use crate::api::ConnectError;
use crate::model::ServiceAccount;
use crate::tui::msg::Effect;
use crate::tui::state::{Model, Status};

/// `*`: marks every account the list shows (its filters applied), or unmarks them when all are marked
/// already. Rows all in memory are marked at once; otherwise the matches are asked for, up to `MAX_MARKS`.
pub(super) fn mark_all(model: &mut Model) -> Vec<Effect> {
    let list = &mut model.accounts;
    let Some(total) = list.total else {
        model.status = Status::Info("the list is still loading".into());
        return Vec::new();
    };
    let loaded: Vec<ServiceAccount> = (0..list.len())
        .filter_map(|i| list.get(i).cloned())
        .collect();
    if loaded.len() as u64 == total {
        if !loaded.is_empty() && loaded.iter().all(|a| list.marked.contains_key(&a.id)) {
            for a in &loaded {
                list.marked.remove(&a.id);
            }
            model.status = Status::Info(format!("unmarked the {} shown", loaded.len()));
        } else {
            let n = loaded.len();
            for a in loaded {
                list.marked.insert(a.id.clone(), a);
            }
            model.status = Status::Info(format!(
                "marked the {n} shown ({} marked)",
                list.marked.len()
            ));
        }
        return Vec::new();
    }
    list.marking = Some(list.generation);
    model.status = Status::Busy(format!("marking {} accounts", total.min(MAX_MARKS)));
    let namespace = model.current.clone();
    let mut query = model.accounts.query(namespace.as_deref(), &model.tree, 0);
    query.limit = Some(MAX_MARKS);
    vec![Effect::LoadMarks {
        generation: model.accounts.generation,
        query,
    }]
}

/// The matches "mark all shown" asked for: marked, saying so when there were more than `MAX_MARKS`.
pub fn on_marked(
    model: &mut Model,
    generation: u64,
    result: Result<(Vec<ServiceAccount>, u64), ConnectError>,
) {
    let list = &mut model.accounts;
    if list.marking != Some(generation) {
        return;
    }
    list.marking = None;
    match result {
        Ok((rows, total)) => {
            let n = rows.len();
            for a in rows {
                list.marked.insert(a.id.clone(), a);
            }
            model.status = Status::Info(if (n as u64) < total {
                format!("marked the first {n} of {total} shown (at most {MAX_MARKS} at once)")
            } else {
                format!("marked the {n} shown ({} marked)", list.marked.len())
            });
        }
        Err(e) => model.status = Status::from_error("cannot mark the accounts", &e, false),
    }
}
