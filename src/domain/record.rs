//! Records: numbered letters and documents. Their numbers (the format an admin sets,
//! `IN-{year}-{seq:4}` by default, a sequence per direction and year; numbers typed by hand,
//! such as an incoming letter's own), their direction, priority and visibility, and the rule
//! for what someone writes into one (`RecordDraft::check`).

use std::fmt::Write as _;

/// Which way a record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Incoming,
    Outgoing,
    Internal,
}

impl Direction {
    pub const ALL: [Direction; 3] = [
        Direction::Incoming,
        Direction::Outgoing,
        Direction::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
            Direction::Internal => "internal",
        }
    }

    /// Its place in the key of its sequence.
    pub fn code(self) -> u8 {
        match self {
            Direction::Incoming => 0,
            Direction::Outgoing => 1,
            Direction::Internal => 2,
        }
    }

    /// The number format a community starts with for this direction.
    pub fn default_format(self) -> &'static str {
        match self {
            Direction::Incoming => "IN-{year}-{seq:4}",
            Direction::Outgoing => "OUT-{year}-{seq:4}",
            Direction::Internal => "INT-{year}-{seq:4}",
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Direction::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| "Use incoming, outgoing or internal.".to_string())
    }
}

/// The longest number, typed or made.
pub const NUMBER_MAX_CHARS: usize = 64;
/// The widest `{seq:N}` padding.
const PAD_MAX: usize = 12;

/// One piece of a number format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Year,
    /// The sequence, zero-padded to at least this many digits (it grows past them:
    /// 9999 → 10000).
    Seq(usize),
}

/// A number format as an admin wrote it, checked: text with `{year}` and exactly one
/// `{seq}` or `{seq:N}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    pieces: Vec<Piece>,
}

impl NumberFormat {
    /// Reads a format; the error says what to fix.
    pub fn parse(format: &str) -> Result<NumberFormat, String> {
        if format.chars().count() > 40 {
            return Err("Use at most 40 characters.".into());
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err("A `}` has no `{` before it.".into());
            }
            text.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .ok_or("A `{` is not closed with `}`.")?
                + open;
            let name = &rest[open + 1..close];
            let piece = match name.split_once(':') {
                None if name == "year" => Piece::Year,
                None if name == "seq" => Piece::Seq(1),
                Some(("seq", width)) => match width.parse::<usize>() {
                    Ok(w) if (1..=PAD_MAX).contains(&w) => Piece::Seq(w),
                    _ => return Err(format!("Write {{seq:N}} with N from 1 to {PAD_MAX}.")),
                },
                _ => {
                    return Err(format!(
                        "`{{{name}}}` is not known: use {{year}} and {{seq}} or {{seq:N}}."
                    ));
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            rest = &rest[close + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        let seqs = pieces.iter().filter(|p| matches!(p, Piece::Seq(_))).count();
        if seqs != 1 {
            return Err("Put {seq} (or {seq:N}) in the format exactly once.".into());
        }
        for piece in &pieces {
            if let Piece::Text(t) = piece
                && let Some(why) = number_text_problem(t)
            {
                return Err(why);
            }
        }
        Ok(NumberFormat { pieces })
    }

    /// The number of the `seq`th record of `year`.
    pub fn number(&self, year: i16, seq: u64) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Year => {
                    let _ = write!(out, "{year:04}");
                }
                Piece::Seq(width) => {
                    let _ = write!(out, "{seq:0width$}");
                }
            }
        }
        out
    }

    /// Whether numbers of this format restart every year.
    pub fn yearly(&self) -> bool {
        self.pieces.contains(&Piece::Year)
    }
}

/// Why text cannot be part of a record number, if it cannot: letters, digits and
/// `- / . _ #` only, so a number reads the same everywhere (search box, CSV, file names).
fn number_text_problem(text: &str) -> Option<String> {
    text.chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '/' | '.' | '_' | '#')))
        .map(|c| format!("`{c}` cannot be part of a number: use letters, digits and - / . _ #."))
}

/// A number typed by hand, tidied (spaces around it off), or why it cannot be used.
pub fn typed_number(typed: &str) -> Result<String, String> {
    let number = typed.trim();
    if number.is_empty() {
        return Err("Type the number, or leave it out to get the next one.".into());
    }
    if number.chars().count() > NUMBER_MAX_CHARS {
        return Err(format!("Use at most {NUMBER_MAX_CHARS} characters."));
    }
    match number_text_problem(number) {
        Some(why) => Err(why),
        None => Ok(number.to_string()),
    }
}

/// The key two numbers are the same under: `in-2026-0001` is `IN-2026-0001`.
pub fn number_key(number: &str) -> String {
    number.to_lowercase()
}

/// How pressing a record is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// Who may see a record besides staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Every member.
    Members,
    /// Moderators and up.
    Staff,
    /// Only the people on it: owner, assignees, watchers (and admins).
    People,
}

impl std::str::FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| "Use low, normal, high or urgent.".to_string())
    }
}

impl std::str::FromStr for Visibility {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Visibility::Members, Visibility::Staff, Visibility::People]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| "Use members, staff or people.".to_string())
    }
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Members => "members",
            Visibility::Staff => "staff",
            Visibility::People => "people",
        }
    }
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub id: super::ids::RecordId,
    pub number: String,
    pub direction: Direction,
    pub title: String,
    pub correspondent: String,
    pub content: String,
    /// A status key of the workflow.
    pub status: String,
    pub priority: Priority,
    pub owner: super::ids::UserId,
    pub assignees: Vec<super::ids::UserId>,
    pub watchers: Vec<super::ids::UserId>,
    pub due: Option<jiff::civil::Date>,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    /// Counts every saved change: a save based on an older version is refused.
    pub version: u64,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
    /// In the trash since then.
    pub deleted_at: Option<jiff::Timestamp>,
}

/// One line of a record's history: who changed which field from what to what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// The record's version this change made.
    pub version: u64,
    pub at: jiff::Timestamp,
    pub by: super::ids::UserId,
    /// `created`, `title`, `status`, `assignees`, `attachment`, `deleted`, `restored`, …
    pub field: String,
    pub old: String,
    pub new: String,
}

/// The longest title.
pub const TITLE_MAX_CHARS: usize = 200;
/// The longest correspondent (the organisation a letter is from or to).
pub const CORRESPONDENT_MAX_CHARS: usize = 200;
/// The longest content.
pub const CONTENT_MAX_CHARS: usize = 20_000;
/// Tags a record may have at most, and their length.
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 40;

/// What someone writes when they create or edit a record, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordDraft {
    pub title: String,
    pub correspondent: String,
    pub content: String,
    pub tags: Vec<String>,
    /// `YYYY-MM-DD`, or empty for none.
    pub due: String,
}

/// A draft that holds: text tidied, tags folded to lower case without repeats, the due date
/// read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRecord {
    pub title: String,
    pub correspondent: String,
    pub content: String,
    pub tags: Vec<String>,
    pub due: Option<jiff::civil::Date>,
}

impl RecordDraft {
    /// The draft tidied, or every problem as (field, what to fix).
    pub fn check(&self) -> Result<CheckedRecord, Problems> {
        use super::text::plain_text_problem;
        let mut problems = Vec::new();
        let title = self.title.split_whitespace().collect::<Vec<_>>().join(" ");
        if title.is_empty() {
            problems.push(("title", "Give the record a title.".to_string()));
        } else if title.chars().count() > TITLE_MAX_CHARS {
            problems.push((
                "title",
                format!("Use at most {TITLE_MAX_CHARS} characters."),
            ));
        } else if let Some(why) = plain_text_problem(&title, false) {
            problems.push(("title", why.to_string()));
        }
        let correspondent = self
            .correspondent
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if correspondent.chars().count() > CORRESPONDENT_MAX_CHARS {
            problems.push((
                "correspondent",
                format!("Use at most {CORRESPONDENT_MAX_CHARS} characters."),
            ));
        } else if let Some(why) = plain_text_problem(&correspondent, false) {
            problems.push(("correspondent", why.to_string()));
        }
        let content = self.content.replace("\r\n", "\n").trim_end().to_string();
        if content.chars().count() > CONTENT_MAX_CHARS {
            problems.push((
                "content",
                format!("Use at most {CONTENT_MAX_CHARS} characters."),
            ));
        } else if let Some(why) = plain_text_problem(&content, true) {
            problems.push(("content", why.to_string()));
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in &self.tags {
            let tag = tag
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            if tag.is_empty() || tag.chars().count() > TAG_MAX_CHARS {
                problems.push((
                    "tags",
                    format!("Each tag takes 1 to {TAG_MAX_CHARS} characters."),
                ));
            } else if let Some(why) = plain_text_problem(&tag, false) {
                problems.push(("tags", why.to_string()));
            } else if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > TAGS_MAX {
            problems.push(("tags", format!("Use at most {TAGS_MAX} tags.")));
        }
        let due = match self.due.trim() {
            "" => None,
            text => match text.parse::<jiff::civil::Date>() {
                Ok(date) if text.len() == 10 => Some(date),
                _ => {
                    problems.push(("due", "Write the date as YYYY-MM-DD, a real day.".into()));
                    None
                }
            },
        };
        if problems.is_empty() {
            Ok(CheckedRecord {
                title,
                correspondent,
                content,
                tags,
                due,
            })
        } else {
            Err(problems)
        }
    }
}

/// What a member hears about a record they watch, were assigned or were named in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordNews {
    Commented {
        comment: super::ids::CommentId,
    },
    Mentioned {
        comment: super::ids::CommentId,
    },
    /// The status went from one label to another.
    Moved {
        from: String,
        to: String,
    },
    /// They were made one of its assignees.
    Assigned,
    /// It is due tomorrow (or on the day the reminder setting names).
    DueSoon,
    /// Its due day passed while it was open.
    Overdue,
}

/// What someone changes in a record; `None` leaves a field as it is. (Status moves go
/// through the workflow, assignees through their own checks.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordEdit {
    pub title: Option<String>,
    pub correspondent: Option<String>,
    pub content: Option<String>,
    pub tags: Option<Vec<String>>,
    /// `YYYY-MM-DD`; empty clears it.
    pub due: Option<String>,
    pub priority: Option<Priority>,
    pub visibility: Option<Visibility>,
}

/// A field that changed: (field, old, new) as people read them.
pub type FieldChange = (&'static str, String, String);

/// Problems with what someone wrote, as (field, what to fix).
pub type Problems = Vec<(&'static str, String)>;

impl Record {
    /// The record with `edit` applied and each field that changed, or every problem as
    /// (field, what to fix).
    pub fn edited(&self, edit: &RecordEdit) -> Result<(Record, Vec<FieldChange>), Problems> {
        let draft = RecordDraft {
            title: edit.title.clone().unwrap_or_else(|| self.title.clone()),
            correspondent: edit
                .correspondent
                .clone()
                .unwrap_or_else(|| self.correspondent.clone()),
            content: edit.content.clone().unwrap_or_else(|| self.content.clone()),
            tags: edit.tags.clone().unwrap_or_else(|| self.tags.clone()),
            due: edit
                .due
                .clone()
                .unwrap_or_else(|| self.due.map(|d| d.to_string()).unwrap_or_default()),
        };
        let checked = draft.check()?;
        let mut next = self.clone();
        let mut changes = Vec::new();
        let mut note = |field: &'static str, old: String, new: String| {
            if old != new {
                changes.push((field, old, new));
            }
        };
        note("title", self.title.clone(), checked.title.clone());
        note(
            "correspondent",
            self.correspondent.clone(),
            checked.correspondent.clone(),
        );
        note("content", self.content.clone(), checked.content.clone());
        note("tags", self.tags.join(", "), checked.tags.join(", "));
        let day = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string()).unwrap_or_default();
        note("due", day(self.due), day(checked.due));
        let priority = edit.priority.unwrap_or(self.priority);
        note(
            "priority",
            self.priority.as_str().into(),
            priority.as_str().into(),
        );
        let visibility = edit.visibility.unwrap_or(self.visibility);
        note(
            "visibility",
            self.visibility.as_str().into(),
            visibility.as_str().into(),
        );
        next.title = checked.title;
        next.correspondent = checked.correspondent;
        next.content = checked.content;
        next.tags = checked.tags;
        next.due = checked.due;
        next.priority = priority;
        next.visibility = visibility;
        Ok((next, changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_tidied_or_every_problem_named() {
        let draft = RecordDraft {
            title: "  Letter   from the council ".into(),
            correspondent: "City  Council".into(),
            content: "Dear all,\r\nthe hall is booked.\n\n".into(),
            tags: vec!["Hall".into(), "hall ".into(), "Budget 2027".into()],
            due: "2026-12-24".into(),
        };
        let checked = draft.check().unwrap();
        assert_eq!(checked.title, "Letter from the council");
        assert_eq!(checked.correspondent, "City Council");
        assert_eq!(checked.content, "Dear all,\nthe hall is booked.");
        assert_eq!(checked.tags, ["hall", "budget 2027"]);
        assert_eq!(
            checked.due.map(|d| d.to_string()).as_deref(),
            Some("2026-12-24")
        );

        let bad = RecordDraft {
            title: " ".into(),
            correspondent: "x".repeat(201),
            content: "bidi\u{202E}".into(),
            tags: vec![String::new(); 1],
            due: "2026-02-30".into(),
        };
        let fields: Vec<&str> = bad
            .check()
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["title", "correspondent", "content", "tags", "due"]);
        for due in ["2026-2-3", "tomorrow", "2026-12-24T10:00"] {
            let d = RecordDraft {
                title: "t".into(),
                due: due.into(),
                ..Default::default()
            };
            assert!(d.check().is_err(), "{due}");
        }
        let many = RecordDraft {
            title: "t".into(),
            tags: (0..21).map(|i| format!("t{i}")).collect(),
            ..Default::default()
        };
        assert_eq!(many.check().unwrap_err()[0].0, "tags");
    }

    #[test]
    fn an_edit_names_each_field_it_changes_and_keeps_the_rest() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let record = Record {
            id: super::super::ids::RecordId::from_u128(1),
            number: "IN-2026-0001".into(),
            direction: Direction::Incoming,
            title: "Letter".into(),
            correspondent: "Council".into(),
            content: String::new(),
            status: "new".into(),
            priority: Priority::Normal,
            owner: super::super::ids::UserId::from_u128(2),
            assignees: Vec::new(),
            watchers: Vec::new(),
            due: None,
            tags: vec!["hall".into()],
            visibility: Visibility::Members,
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let edit = RecordEdit {
            title: Some(" Letter ".into()),
            due: Some("2026-12-24".into()),
            priority: Some(Priority::Urgent),
            tags: Some(vec!["Hall".into(), "Budget".into()]),
            ..Default::default()
        };
        let (next, changes) = record.edited(&edit).unwrap();
        assert_eq!(next.title, "Letter");
        assert_eq!(next.correspondent, "Council");
        assert_eq!(
            changes,
            [
                ("tags", "hall".into(), "hall, budget".into()),
                ("due", String::new(), "2026-12-24".into()),
                ("priority", "normal".into(), "urgent".into()),
            ]
        );
        let cleared = next
            .edited(&RecordEdit {
                due: Some(String::new()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(cleared.0.due, None);
        let bad = record.edited(&RecordEdit {
            title: Some(String::new()),
            ..Default::default()
        });
        assert_eq!(bad.unwrap_err()[0].0, "title");
    }

    #[test]
    fn the_default_format_pads_and_grows_past_its_padding() {
        let f = NumberFormat::parse(Direction::Incoming.default_format()).unwrap();
        assert_eq!(f.number(2026, 1), "IN-2026-0001");
        assert_eq!(f.number(2026, 9999), "IN-2026-9999");
        assert_eq!(f.number(2026, 10_000), "IN-2026-10000");
        assert_eq!(f.number(2027, 1), "IN-2027-0001");
        assert!(f.yearly());
        let plain = NumberFormat::parse("L{seq}").unwrap();
        assert_eq!(plain.number(2026, 42), "L42");
        assert!(!plain.yearly());
    }

    #[test]
    fn bad_formats_say_what_to_fix() {
        for (format, says) in [
            ("IN-{year}", "exactly once"),
            ("{seq}-{seq}", "exactly once"),
            ("IN-{yr}-{seq}", "not known"),
            ("IN-{seq:0}", "N from 1"),
            ("IN-{seq:99}", "N from 1"),
            ("IN-{seq", "not closed"),
            ("IN}-{seq}", "no `{`"),
            ("IN {seq}", "cannot be part"),
            ("<b>{seq}", "cannot be part"),
            (&"x".repeat(41), "40 characters"),
        ] {
            let why = NumberFormat::parse(format).unwrap_err();
            assert!(why.contains(says), "{format}: {why}");
        }
    }

    #[test]
    fn typed_numbers_are_tidied_or_refused() {
        assert_eq!(typed_number("  AB/2026/17 ").unwrap(), "AB/2026/17");
        assert!(typed_number("").is_err());
        assert!(typed_number("a b").is_err());
        assert!(typed_number(&"9".repeat(65)).is_err());
        assert_eq!(number_key("In-2026-0001"), number_key("IN-2026-0001"));
    }
}
