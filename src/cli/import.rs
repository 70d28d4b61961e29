//! Reading a directory file for `sacon directory import`: a JSON array of `{"id","name","email","groups"}` or a
//! CSV with header `id,name,email,groups` (groups split on `;`). Every row is checked before anything is sent;
//! the first bad row is named (entry or line) with what is wrong.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::model::{DirectoryUser, is_unsafe_char};

/// Longest user id the server accepts (the same limit as a service account's `userId`).
const MAX_ID: usize = 256;
const MAX_TEXT: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Json,
    Csv,
}

/// A row that cannot be imported and where it is (no location: the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub location: Option<String>,
    pub problem: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for ImportError {}

impl ImportError {
    fn at(location: impl Into<String>, problem: impl Into<String>) -> ImportError {
        ImportError {
            location: Some(location.into()),
            problem: problem.into(),
        }
    }

    fn whole_file(problem: impl Into<String>) -> ImportError {
        ImportError {
            location: None,
            problem: problem.into(),
        }
    }
}

/// `.json` and `.csv` decide by name; otherwise a file whose first non-blank character is `[` is JSON.
pub fn detect(path: &Path, text: &str) -> FileFormat {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => FileFormat::Json,
        Some("csv") => FileFormat::Csv,
        _ => {
            if strip_bom(text).trim_start().starts_with('[') {
                FileFormat::Json
            } else {
                FileFormat::Csv
            }
        }
    }
}

/// Parses and checks every row; `Err` names the first bad one.
pub fn parse(text: &str, format: FileFormat) -> Result<Vec<DirectoryUser>, ImportError> {
    let rows = match format {
        FileFormat::Json => parse_json(strip_bom(text))?,
        FileFormat::Csv => parse_csv(strip_bom(text))?,
    };
    if rows.is_empty() {
        return Err(ImportError::whole_file("no users in the file"));
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (location, user) in &rows {
        check(user).map_err(|problem| ImportError::at(location.clone(), problem))?;
        if let Some(first) = seen.insert(&user.id, location) {
            return Err(ImportError::at(
                location.clone(),
                format!("id {:?} is also used by {first}", user.id),
            ));
        }
    }
    Ok(rows.into_iter().map(|(_, user)| user).collect())
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonUser {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    groups: Vec<String>,
}

fn parse_json(text: &str) -> Result<Vec<(String, DirectoryUser)>, ImportError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ImportError::whole_file(format!("not valid JSON: {e}")))?;
    let serde_json::Value::Array(items) = value else {
        return Err(ImportError::whole_file(
            "not a JSON array of users ([{\"id\": …, \"name\": …, \"email\": …, \"groups\": […]}])",
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let location = format!("entry {} (index {i})", i + 1);
            if !item.is_object() {
                return Err(ImportError::at(location, "is not a JSON object"));
            }
            let u: JsonUser = serde_json::from_value(item)
                .map_err(|e| ImportError::at(location.clone(), e.to_string()))?;
            Ok((
                location,
                DirectoryUser {
                    id: u.id,
                    name: u.name,
                    email: u.email,
                    groups: u.groups,
                },
            ))
        })
        .collect()
}

fn parse_csv(text: &str) -> Result<Vec<(String, DirectoryUser)>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::at("line 1", format!("unreadable CSV header: {e}")))?
        .clone();
    let mut columns: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let name = match h.to_ascii_lowercase().as_str() {
            "id" => "id",
            "name" => "name",
            "email" => "email",
            "groups" => "groups",
            _ => {
                return Err(ImportError::at(
                    "line 1",
                    format!("unknown column {h:?}; the header is id,name,email,groups"),
                ));
            }
        };
        if columns.insert(name, i).is_some() {
            return Err(ImportError::at(
                "line 1",
                format!("column {name:?} appears twice"),
            ));
        }
    }
    let Some(&id_col) = columns.get("id") else {
        return Err(ImportError::at(
            "line 1",
            "no id column; the header is id,name,email,groups",
        ));
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let location = e
                .position()
                .map(|p| format!("line {}", p.line()))
                .unwrap_or_else(|| "a row".into());
            let problem = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("has {len} fields; the header has {expected_len}"),
                csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".into(),
                _ => e.to_string(),
            };
            ImportError::at(location, problem)
        })?;
        let location = record
            .position()
            .map(|p| format!("line {}", p.line()))
            .unwrap_or_else(|| format!("row {}", out.len() + 1));
        let field = |name: &str| {
            columns
                .get(name)
                .and_then(|i| record.get(*i))
                .unwrap_or("")
                .to_string()
        };
        let groups = field("groups")
            .split(';')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect();
        out.push((
            location,
            DirectoryUser {
                id: record.get(id_col).unwrap_or("").to_string(),
                name: field("name"),
                email: field("email"),
                groups,
            },
        ));
    }
    Ok(out)
}

/// The rules a directory user must meet; the message names the field.
fn check(user: &DirectoryUser) -> Result<(), String> {
    if user.id.trim().is_empty() {
        return Err("id is empty".into());
    }
    if user.id.trim() != user.id {
        return Err(format!("id {:?} has leading or trailing spaces", user.id));
    }
    if user.id.chars().count() > MAX_ID {
        return Err(format!("id is longer than {MAX_ID} characters"));
    }
    let fields = [
        ("id", &user.id),
        ("name", &user.name),
        ("email", &user.email),
    ];
    for (name, value) in fields {
        if value.chars().any(is_unsafe_char) {
            return Err(format!("{name} contains control or invisible characters"));
        }
        if value.chars().count() > MAX_TEXT {
            return Err(format!("{name} is longer than {MAX_TEXT} characters"));
        }
    }
    if !user.email.is_empty() {
        let ok = user.email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        }) && !user.email.contains(char::is_whitespace);
        if !ok {
            return Err(format!("email {:?} is not an e-mail address", user.email));
        }
    }
    for group in &user.groups {
        if group.trim().is_empty() {
            return Err("a group name is empty".into());
        }
        if group.chars().any(is_unsafe_char) {
            return Err(format!(
                "group {:?} contains control or invisible characters",
                group
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str, email: &str, groups: &[&str]) -> DirectoryUser {
        DirectoryUser {
            id: id.into(),
            name: name.into(),
            email: email.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn format_by_extension_then_by_content() {
        assert_eq!(detect(Path::new("a.JSON"), "id,name"), FileFormat::Json);
        assert_eq!(detect(Path::new("a.csv"), "[]"), FileFormat::Csv);
        assert_eq!(
            detect(Path::new("-"), "\u{feff}\n  [ {} ]"),
            FileFormat::Json
        );
        assert_eq!(detect(Path::new("users.txt"), "id,name\n"), FileFormat::Csv);
    }

    #[test]
    fn json_array_parses() {
        let text = r#"[{"id":"u1","name":"Ann","email":"ann@example.com","groups":["eng","ops"]},
                       {"id":"u2"}]"#;
        assert_eq!(
            parse(text, FileFormat::Json).unwrap(),
            vec![
                user("u1", "Ann", "ann@example.com", &["eng", "ops"]),
                user("u2", "", "", &[])
            ]
        );
    }

    #[test]
    fn csv_parses_with_groups_split_on_semicolons() {
        let text = "\u{feff}id,name,email,groups\nu1, Ann ,ann@example.com,eng; ops\n\"u2\",\"Lee, Bo\",,\n";
        assert_eq!(
            parse(text, FileFormat::Csv).unwrap(),
            vec![
                user("u1", "Ann", "ann@example.com", &["eng", "ops"]),
                user("u2", "Lee, Bo", "", &[])
            ]
        );
        // Columns in another order, some left out.
        assert_eq!(
            parse("email,id\nx@y.z,u3\n", FileFormat::Csv).unwrap(),
            vec![user("u3", "", "x@y.z", &[])]
        );
    }

    fn problem(text: &str, format: FileFormat) -> String {
        parse(text, format).unwrap_err().to_string()
    }

    #[test]
    fn bad_json_rows_are_named() {
        assert_eq!(
            problem(r#"[{"id":"a"},{"id":""}]"#, FileFormat::Json),
            "entry 2 (index 1): id is empty"
        );
        assert!(
            problem(r#"[{"id":"a","nmae":"x"}]"#, FileFormat::Json)
                .starts_with("entry 1 (index 0): unknown field `nmae`")
        );
        assert!(
            problem(r#"[{"id":"a","groups":"eng"}]"#, FileFormat::Json)
                .starts_with("entry 1 (index 0): invalid type")
        );
        assert_eq!(
            problem(r#"[{"id":"a"}, 3]"#, FileFormat::Json),
            "entry 2 (index 1): is not a JSON object"
        );
        assert!(problem(r#"{"id":"a"}"#, FileFormat::Json).starts_with("not a JSON array"));
        assert!(problem("[{", FileFormat::Json).starts_with("not valid JSON"));
        assert_eq!(problem("[]", FileFormat::Json), "no users in the file");
        assert_eq!(
            problem(r#"[{"id":"a"},{"id":"b"},{"id":"a"}]"#, FileFormat::Json),
            "entry 3 (index 2): id \"a\" is also used by entry 1 (index 0)"
        );
        assert_eq!(
            problem(r#"[{"id":"a","email":"nope"}]"#, FileFormat::Json),
            "entry 1 (index 0): email \"nope\" is not an e-mail address"
        );
        assert_eq!(
            problem(r#"[{"id":"a","name":"x\u001b[2J"}]"#, FileFormat::Json),
            "entry 1 (index 0): name contains control or invisible characters"
        );
    }

    #[test]
    fn bad_csv_rows_are_named_by_line() {
        assert_eq!(
            problem(
                "id,name,email,groups\nu1,A,a@b.c,g\nu2,B\n",
                FileFormat::Csv
            ),
            "line 3: has 2 fields; the header has 4"
        );
        assert_eq!(
            problem(
                "id,name,email,groups\nu1,A,a@b.c,g\n,B,b@b.c,\n",
                FileFormat::Csv
            ),
            "line 3: id is empty"
        );
        assert_eq!(
            problem("id,nickname\nu1,x\n", FileFormat::Csv),
            "line 1: unknown column \"nickname\"; the header is id,name,email,groups"
        );
        assert_eq!(
            problem("name,email\nA,a@b.c\n", FileFormat::Csv),
            "line 1: no id column; the header is id,name,email,groups"
        );
        assert_eq!(problem("id\n", FileFormat::Csv), "no users in the file");
        let long = format!("id\n{}\n", "x".repeat(MAX_ID + 1));
        assert_eq!(
            problem(&long, FileFormat::Csv),
            "line 2: id is longer than 256 characters"
        );
    }
}
