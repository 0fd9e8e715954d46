//! What a list of records asks for: filters over the fields people look by, and one of the
//! sorts the list allows (nothing else can be sorted on).

use jiff::civil::Date;

use super::ids::UserId;
use super::record::{Direction, Priority};

/// The orders a records list comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordSort {
    /// Most recently created first.
    #[default]
    Newest,
    Oldest,
    /// Most recently changed first.
    Updated,
    /// Soonest due first (overdue ones first of all), records without a due date last.
    Due,
    /// Most urgent first, newest first within a priority.
    Priority,
}

/// Filters, all of which a record must pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// A status key of the workflow.
    pub status: Option<String>,
    pub priority: Option<Priority>,
    pub direction: Option<Direction>,
    pub owner: Option<UserId>,
    pub assignee: Option<UserId>,
    pub tag: Option<String>,
    /// Due on or before this day.
    pub due_before: Option<Date>,
    /// Due on or after this day.
    pub due_after: Option<Date>,
    /// Due before today and not in a closed status.
    pub overdue: bool,
    /// Only records in a status that is not closed.
    pub open: bool,
    /// Words in the number, title or correspondent (any case).
    pub text: Option<String>,
    /// The records in the trash instead (admins; nobody else sees any).
    pub trashed: bool,
}

/// The longest text filter.
pub const TEXT_MAX_CHARS: usize = 100;

impl RecordFilter {
    /// Every problem, as (field, what to fix).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let (Some(before), Some(after)) = (self.due_before, self.due_after)
            && before < after
        {
            out.push((
                "dueBefore",
                "The due-before day comes before the due-after day: nothing could match.".into(),
            ));
        }
        if self
            .text
            .as_ref()
            .is_some_and(|t| t.chars().count() > TEXT_MAX_CHARS)
        {
            out.push(("q", format!("Use at most {TEXT_MAX_CHARS} characters.")));
        }
        out
    }

    /// The text filter folded for matching: lower case, spaces collapsed; none when empty.
    pub fn folded_text(&self) -> Option<String> {
        let text = self.text.as_deref()?;
        let folded = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        (!folded.is_empty()).then_some(folded)
    }
}

/// What the text filter looks in: the number, title and correspondent, folded like
/// [`RecordFilter::folded_text`].
pub fn searchable_text(number: &str, title: &str, correspondent: &str) -> String {
    format!("{number} {title} {correspondent}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}
