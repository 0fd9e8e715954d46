//! Records as CSV: the export's columns (every cell quoted, and a cell a spreadsheet would
//! run as a formula made inert), and reading an import, with every problem named by row.

use super::record::{
    Direction, NUMBER_MAX_CHARS, Priority, Record, RecordDraft, Visibility, typed_number,
};

/// The export's columns, in order.
pub const EXPORT_COLUMNS: [&str; 14] = [
    "number",
    "title",
    "direction",
    "status",
    "priority",
    "owner",
    "assignees",
    "correspondent",
    "due",
    "tags",
    "visibility",
    "created_at",
    "updated_at",
    "content",
];

/// Rows an import may have at most.
pub const IMPORT_ROWS_MAX: usize = 10_000;
/// The largest import file.
pub const IMPORT_BYTES_MAX: usize = 5 * 1024 * 1024;

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, or a tab or carriage
/// return first) gets a `'` in front, so it shows as text.
pub fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// A record as an export row; `name` gives a member's username.
pub fn export_row(r: &Record, name: impl Fn(super::ids::UserId) -> String) -> Vec<String> {
    let assignees: Vec<String> = r.assignees.iter().map(|a| name(*a)).collect();
    [
        r.number.clone(),
        r.title.clone(),
        r.direction.as_str().to_string(),
        r.status.clone(),
        r.priority.as_str().to_string(),
        name(r.owner),
        assignees.join("; "),
        r.correspondent.clone(),
        r.due.map(|d| d.to_string()).unwrap_or_default(),
        r.tags.join("; "),
        r.visibility.as_str().to_string(),
        r.created_at.to_string(),
        r.updated_at.to_string(),
        r.content.clone(),
    ]
    .iter()
    .map(|c| inert(c))
    .collect()
}

/// A CSV writer for export rows: every cell quoted.
pub fn writer(out: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(out)
}

/// One row of an import, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Its row in the file, the header being row 1 (as a spreadsheet numbers it).
    pub row: usize,
    pub draft: RecordDraft,
    pub direction: Direction,
    pub priority: Priority,
    pub visibility: Visibility,
    pub number: Option<String>,
    /// Usernames.
    pub assignees: Vec<String>,
}

/// A problem with an import: which row (1 for the header, 0 for the file), which column, what
/// to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub row: usize,
    pub column: String,
    pub message: String,
}

fn problem(row: usize, column: &str, message: impl Into<String>) -> RowProblem {
    RowProblem {
        row,
        column: column.to_string(),
        message: message.into(),
    }
}

/// Columns an import may have (`title` and `direction` are needed).
const IMPORT_COLUMNS: [&str; 10] = [
    "number",
    "title",
    "direction",
    "priority",
    "visibility",
    "correspondent",
    "due",
    "tags",
    "assignees",
    "content",
];

/// Reads an import: a header naming its columns, then one record per row. Either every row
/// reads, or every problem is named (a record's own rules included, not those that need the
/// database: taken numbers, assignees).
pub fn read_import(bytes: &[u8]) -> Result<Vec<ImportRow>, Vec<RowProblem>> {
    if bytes.len() > IMPORT_BYTES_MAX {
        return Err(vec![problem(
            0,
            "",
            format!(
                "The file is over {} MiB: split it.",
                IMPORT_BYTES_MAX / 1024 / 1024
            ),
        )]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => {
            return Err(vec![problem(
                1,
                "",
                format!("The header cannot be read: {e}"),
            )]);
        }
    };
    let mut problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if !IMPORT_COLUMNS.contains(&name.as_str()) {
            problems.push(problem(
                1,
                name,
                format!(
                    "Column {} is not one an import takes: use {}.",
                    i + 1,
                    IMPORT_COLUMNS.join(", ")
                ),
            ));
        } else if header[..i].contains(name) {
            problems.push(problem(1, name, "This column is named twice."));
        }
    }
    for needed in ["title", "direction"] {
        if !header.iter().any(|h| h == needed) {
            problems.push(problem(1, needed, "The header needs this column."));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        if rows.len() + problems.len() >= IMPORT_ROWS_MAX {
            problems.push(problem(
                row,
                "",
                format!("An import takes at most {IMPORT_ROWS_MAX} rows: split the file."),
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(row, "", format!("The row cannot be read: {e}")));
                continue;
            }
        };
        if record.len() > header.len() {
            problems.push(problem(
                row,
                "",
                format!(
                    "The row has {} cells, the header {}.",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let cell = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|p| record.get(p))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        match read_row(row, &cell) {
            Ok(r) => rows.push(r),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

fn read_row(row: usize, cell: &dyn Fn(&str) -> String) -> Result<ImportRow, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let list = |text: String| -> Vec<String> {
        text.split(';')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    };
    let direction = cell("direction").parse::<Direction>().map_err(|why| {
        problems.push(problem(row, "direction", why));
    });
    let priority = match cell("priority").as_str() {
        "" => Some(Priority::Normal),
        p => p
            .parse()
            .map_err(|why: String| problems.push(problem(row, "priority", why)))
            .ok(),
    };
    let visibility = match cell("visibility").as_str() {
        "" => Some(Visibility::Members),
        v => v
            .parse()
            .map_err(|why: String| problems.push(problem(row, "visibility", why)))
            .ok(),
    };
    let number = match cell("number") {
        n if n.is_empty() => None,
        n if n.chars().count() > NUMBER_MAX_CHARS => {
            problems.push(problem(
                row,
                "number",
                format!("Use at most {NUMBER_MAX_CHARS} characters."),
            ));
            None
        }
        n => match typed_number(&n) {
            Ok(n) => Some(n),
            Err(why) => {
                problems.push(problem(row, "number", why));
                None
            }
        },
    };
    let draft = RecordDraft {
        title: cell("title"),
        correspondent: cell("correspondent"),
        content: cell("content"),
        tags: list(cell("tags")),
        due: cell("due"),
    };
    if let Err(found) = draft.check() {
        problems.extend(found.into_iter().map(|(f, why)| problem(row, f, why)));
    }
    let assignees = list(cell("assignees"));
    match (direction, priority, visibility) {
        (Ok(direction), Some(priority), Some(visibility)) if problems.is_empty() => Ok(ImportRow {
            row,
            draft,
            direction,
            priority,
            visibility,
            number,
            assignees,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_made_inert() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(inert(cell).starts_with('\''), "{cell:?}");
        }
        assert_eq!(inert("IN-2026-0001"), "IN-2026-0001");
        assert_eq!(inert("a=b"), "a=b");
    }

    #[test]
    fn an_import_reads_or_names_every_problem_by_row() {
        let good = "Title,Direction,Number,Tags,Assignees,Due\n\
                    \"Letter, with comma\",incoming,AB/17,hall; budget,ann; bob,2026-12-24\n\
                    \"Two\nlines\",outgoing,,,,\n";
        let rows = read_import(good.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].draft.title, "Letter, with comma");
        assert_eq!(rows[0].number.as_deref(), Some("AB/17"));
        assert_eq!(rows[0].assignees, ["ann", "bob"]);
        assert_eq!(rows[1].row, 3);
        assert_eq!(rows[1].draft.check().unwrap().title, "Two lines");

        let bad = "title,direction,priority,due,number\n\
                   ok,incoming,,,\n\
                   ,sideways,extreme,2026-02-30,a b\n";
        let problems = read_import(bad.as_bytes()).unwrap_err();
        let named: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                (3, "direction"),
                (3, "priority"),
                (3, "number"),
                (3, "title"),
                (3, "due")
            ]
        );
        let header = read_import(b"title,password\nx,y\n").unwrap_err();
        assert_eq!(header[0].column, "password");
        assert_eq!(header[1].column, "direction");
        let wide = read_import(b"title,direction\na,incoming,extra\n").unwrap_err();
        assert_eq!(wide[0].row, 2);
    }
}
