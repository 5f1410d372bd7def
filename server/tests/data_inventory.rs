//! docs/DATA.md lists every table and column the migrations make, and nothing else: a new
//! column without its row in the inventory (what it holds, why, who reads it, how long it
//! lives) fails here, on both backends' migrations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Schema = BTreeMap<String, BTreeSet<String>>;

/// Tables and columns made by the `.sql` files in `dir`: `CREATE TABLE t (...)` columns and
/// `ALTER TABLE t ADD COLUMN c`.
fn migrated(dir: &Path) -> Schema {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut schema = Schema::new();
    for file in files {
        let sql = std::fs::read_to_string(&file).expect("a readable migration");
        let sql: String = sql
            .lines()
            .map(|l| l.split("--").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let mut rest = sql.as_str();
        while let Some(at) = rest.find("CREATE TABLE ") {
            let after = &rest[at + "CREATE TABLE ".len()..];
            let name = after
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            let open = after.find('(').expect("a column list");
            let body = &after[open + 1..];
            // The column list ends at the parenthesis that closes the first one.
            let mut depth = 1;
            let mut quoted = false;
            let end = body
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '\'' => quoted = !quoted,
                        '(' if !quoted => depth += 1,
                        ')' if !quoted => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("a closed column list");
            let columns = schema.entry(name).or_default();
            let mut depth = 0;
            let mut quoted = false;
            let mut item = String::new();
            for c in body[..end].chars().chain(std::iter::once(',')) {
                match c {
                    '\'' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => depth -= 1,
                    ',' if depth == 0 && !quoted => {
                        let first = item
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let constraint = ["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"]
                            .contains(&first.to_ascii_uppercase().as_str());
                        if !first.is_empty() && !constraint {
                            columns.insert(first);
                        }
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            rest = &body[end..];
        }
        for line in sql.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["ALTER", "TABLE", table, "ADD", "COLUMN", column, ..] = words.as_slice() {
                schema
                    .entry((*table).to_string())
                    .or_default()
                    .insert((*column).to_string());
            }
        }
    }
    schema
}

/// Tables (`### \`t\``) and their columns (first cell of each table row) in docs/DATA.md.
fn documented(text: &str) -> Schema {
    let mut schema = Schema::new();
    let mut table: Option<String> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            table = heading
                .trim()
                .strip_prefix('`')
                .and_then(|h| h.strip_suffix('`'))
                .map(str::to_string);
            if let Some(t) = &table {
                schema.entry(t.clone()).or_default();
            }
        } else if line.starts_with("## ") {
            table = None;
        } else if let (Some(t), Some(cell)) = (&table, line.strip_prefix("| `")) {
            if let Some(column) = cell.split('`').next() {
                schema
                    .entry(t.clone())
                    .or_default()
                    .insert(column.to_string());
            }
        }
    }
    schema
}

#[test]
fn the_data_inventory_lists_every_column_of_both_backends_and_nothing_else() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let inventory =
        documented(&std::fs::read_to_string(root.join("docs/DATA.md")).expect("docs/DATA.md"));
    for backend in ["sqlite", "postgres"] {
        let schema = migrated(&root.join("migrations").join(backend));
        assert!(
            schema.len() >= 10,
            "{backend}: the migrations were read ({schema:?})"
        );
        let mut problems = Vec::new();
        for (table, columns) in &schema {
            let listed = inventory.get(table);
            for column in columns {
                if !listed.is_some_and(|l| l.contains(column)) {
                    problems.push(format!(
                        "migrations/{backend} makes {table}.{column}, which docs/DATA.md does not list: add a row under ### `{table}` (what it holds, why, who reads it, how long it lives)"
                    ));
                }
            }
        }
        for (table, columns) in &inventory {
            for column in columns {
                if !schema.get(table).is_some_and(|s| s.contains(column)) {
                    problems.push(format!(
                        "docs/DATA.md lists {table}.{column}, which no migration in migrations/{backend} makes"
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[test]
fn a_column_missing_from_the_inventory_is_named() {
    let schema = migrated(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite"));
    assert!(schema["packages"].contains("server_secret"));
    assert!(
        schema["packages"].contains("ticket_id"),
        "ALTER TABLE … ADD COLUMN is read"
    );
    assert!(
        !schema["parts"].contains("PRIMARY"),
        "constraints are not columns"
    );
    let doc = documented("### `packages`\n| column | holds |\n|---|---|\n| `id` | x |\n");
    assert_eq!(doc["packages"], BTreeSet::from(["id".to_string()]));
}
