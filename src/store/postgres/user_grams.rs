//! Exact totals for the lookahead's short queries, the densest ones, without visiting their matches:
//! `user_gram_counts` holds, for each gram, how many users' `search_doc` contain it. A document's grams are every
//! string of three characters in it (a three-character query matches exactly the users whose document holds it)
//! and every newline followed by one to three characters (the prefix matches of a one- to three-character query).
//! The import adds the grams of the documents it writes and takes away those of the documents it replaces, in
//! its own transaction.

use std::collections::{HashMap, HashSet};

use sqlx::PgConnection;

use super::failure::PgResult;

/// The longest query whose totals the counts give.
pub(super) const MAX_GRAM_QUERY: usize = 3;

/// The gram holding the total of substring matches of `q` (lowercased), if the counts have it.
pub(super) fn substring_gram(q: &str) -> Option<String> {
    (q.chars().count() == MAX_GRAM_QUERY).then(|| q.to_string())
}

/// The gram holding the number of prefix matches of `q`, if the counts have it.
pub(super) fn prefix_gram(q: &str) -> Option<String> {
    (q.chars().count() <= MAX_GRAM_QUERY && !q.contains('\n')).then(|| format!("\n{q}"))
}

/// Every gram of `doc`, once.
fn grams(doc: &str) -> HashSet<&str> {
    let starts: Vec<usize> = doc
        .char_indices()
        .map(|(i, _)| i)
        .chain([doc.len()])
        .collect();
    let mut out = HashSet::with_capacity(starts.len() + 16);
    for (k, &i) in starts.iter().enumerate() {
        let end = |n: usize| starts.get(k + n).copied();
        if let Some(e) = end(3) {
            out.insert(&doc[i..e]);
        }
        if doc[i..].starts_with('\n') {
            for n in [2, 4] {
                if let Some(e) = end(n) {
                    out.insert(&doc[i..e]);
                }
            }
        }
    }
    out
}

/// How the counts change with an import: grams and the number of documents gained (or lost).
#[derive(Default)]
pub(super) struct Delta(HashMap<String, i64>);

impl Delta {
    pub(super) fn add(&mut self, doc: &str, sign: i64) {
        for g in grams(doc) {
            match self.0.get_mut(g) {
                Some(n) => *n += sign,
                None => {
                    self.0.insert(g.to_string(), sign);
                }
            }
        }
    }

    /// Applies the changes, in gram order (so concurrent imports take the rows' locks in the same order), a few
    /// thousand grams per statement.
    pub(super) async fn apply(self, conn: &mut PgConnection) -> PgResult<()> {
        let mut changes: Vec<(String, i64)> = self.0.into_iter().filter(|(_, n)| *n != 0).collect();
        changes.sort();
        for chunk in changes.chunks(5_000) {
            let (grams, ns): (Vec<&str>, Vec<i64>) =
                chunk.iter().map(|(g, n)| (g.as_str(), *n)).unzip();
            sqlx::query(
                "INSERT INTO user_gram_counts (gram, n) SELECT * FROM UNNEST($1::text[], $2::bigint[]) \
                 ON CONFLICT (gram) DO UPDATE SET n = user_gram_counts.n + excluded.n",
            )
            .bind(&grams)
            .bind(&ns)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_has_its_trigrams_and_its_line_starts() {
        let mut got: Vec<&str> = grams("\nab\nxyz").into_iter().collect();
        got.sort();
        assert_eq!(
            got,
            [
                "\na", "\nab", "\nab\n", "\nx", "\nxy", "\nxyz", "ab\n", "b\nx", "xyz"
            ]
        );
        // Characters, not bytes.
        assert!(grams("\nzoë").contains("zoë") && grams("\nzoë").contains("\nzoë"));
        assert_eq!(substring_gram("abc").as_deref(), Some("abc"));
        assert_eq!(substring_gram("ab"), None);
        assert_eq!(prefix_gram("ab").as_deref(), Some("\nab"));
        assert_eq!(prefix_gram("abcd"), None);
    }

    #[test]
    fn replacing_a_document_moves_its_counts() {
        let mut d = Delta::default();
        d.add("\nabc", 1);
        d.add("\nabd", 1);
        d.add("\nabc", -1);
        assert_eq!(d.0["\nab"], 1);
        assert_eq!(d.0["abd"], 1);
        assert_eq!(d.0["abc"], 0);
    }
}
