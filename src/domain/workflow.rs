//! A record's workflow, as admins define it: the statuses in order (the first is where a new
//! record starts) and the moves between them, each open from a role up. A status changes
//! only by an allowed move; the refusal says why.

use serde::{Deserialize, Serialize};

use super::role::Role;

/// Statuses a workflow may have at most.
pub const STATUSES_MAX: usize = 20;
/// Moves a workflow may have at most.
pub const MOVES_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Stable name in data and the API: `in_progress`.
    pub key: String,
    /// What people read: "In progress".
    pub label: String,
    /// Work on a record here is over (completed, archived): it is not open, never overdue,
    /// and not in anyone's "my work".
    #[serde(default)]
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub from: String,
    pub to: String,
    /// The least role that may make it (those above may too).
    pub least: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub statuses: Vec<Status>,
    pub moves: Vec<Move>,
}

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    UnknownStatus(String),
    NoSuchMove { from: String, to: String },
    RoleTooLow { least: Role },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::UnknownStatus(s) => write!(f, "\"{s}\" is not a status of this workflow."),
            Refused::NoSuchMove { from, to } => {
                write!(f, "The workflow has no move from \"{from}\" to \"{to}\".")
            }
            Refused::RoleTooLow { least } => {
                write!(f, "Only a {least} or above may make this move.")
            }
        }
    }
}

impl Default for Workflow {
    /// new → in progress → pending → completed → archived; members move their work along,
    /// moderators reopen and archive.
    fn default() -> Self {
        let status = |key: &str, label: &str| Status {
            key: key.into(),
            label: label.into(),
            closed: matches!(key, "completed" | "archived"),
        };
        let step = |from: &str, to: &str, least: Role| Move {
            from: from.into(),
            to: to.into(),
            least,
        };
        Workflow {
            statuses: vec![
                status("new", "New"),
                status("in_progress", "In progress"),
                status("pending", "Pending"),
                status("completed", "Completed"),
                status("archived", "Archived"),
            ],
            moves: vec![
                step("new", "in_progress", Role::Member),
                step("in_progress", "pending", Role::Member),
                step("pending", "in_progress", Role::Member),
                step("in_progress", "completed", Role::Member),
                step("pending", "completed", Role::Member),
                step("completed", "in_progress", Role::Moderator),
                step("completed", "archived", Role::Moderator),
                step("archived", "in_progress", Role::Moderator),
            ],
        }
    }
}

impl Workflow {
    /// Where a new record starts.
    pub fn initial(&self) -> Option<&Status> {
        self.statuses.first()
    }

    pub fn status(&self, key: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.key == key)
    }

    /// The statuses where work is over.
    pub fn closed(&self) -> impl Iterator<Item = &str> {
        self.statuses
            .iter()
            .filter(|s| s.closed)
            .map(|s| s.key.as_str())
    }

    /// Whether `role` may move a record from `from` to `to`.
    pub fn may_move(&self, from: &str, to: &str, role: Role) -> Result<(), Refused> {
        for key in [from, to] {
            if self.status(key).is_none() {
                return Err(Refused::UnknownStatus(key.into()));
            }
        }
        let step = self
            .moves
            .iter()
            .find(|m| m.from == from && m.to == to)
            .ok_or_else(|| Refused::NoSuchMove {
                from: from.into(),
                to: to.into(),
            })?;
        if role < step.least {
            return Err(Refused::RoleTooLow { least: step.least });
        }
        Ok(())
    }

    /// Every problem, as (field, what to fix), for an admin's edit; empty when it holds.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.statuses.len() < 2 || self.statuses.len() > STATUSES_MAX {
            out.push((
                "statuses".into(),
                format!("Give from 2 to {STATUSES_MAX} statuses."),
            ));
        }
        for (i, s) in self.statuses.iter().enumerate() {
            let key_ok = (1..=32).contains(&s.key.len())
                && s.key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !key_ok {
                out.push((
                    format!("statuses[{i}].key"),
                    "Use 1 to 32 lower-case letters, digits or _.".into(),
                ));
            }
            let label = s.label.trim().chars().count();
            if !(1..=40).contains(&label) {
                out.push((
                    format!("statuses[{i}].label"),
                    "Use 1 to 40 characters.".into(),
                ));
            }
            if self.statuses[..i].iter().any(|t| t.key == s.key) {
                out.push((
                    format!("statuses[{i}].key"),
                    format!("\"{}\" is used twice.", s.key),
                ));
            }
        }
        if self.moves.len() > MOVES_MAX {
            out.push(("moves".into(), format!("Give at most {MOVES_MAX} moves.")));
        }
        for (i, m) in self.moves.iter().enumerate() {
            for (end, key) in [("from", &m.from), ("to", &m.to)] {
                if self.status(key).is_none() {
                    out.push((
                        format!("moves[{i}].{end}"),
                        format!("\"{key}\" is not one of the statuses."),
                    ));
                }
            }
            if m.from == m.to {
                out.push((
                    format!("moves[{i}].to"),
                    "A move goes to another status.".into(),
                ));
            }
            if self.moves[..i]
                .iter()
                .any(|n| n.from == m.from && n.to == m.to)
            {
                out.push((format!("moves[{i}]"), "This move is listed twice.".into()));
            }
        }
        out
    }
}

/// The workflow as the admin panel writes it: statuses one per line (`key | Label`, with
/// `| closed` for those where work is over), moves one per line (`from -> to | role`).
impl Workflow {
    pub fn statuses_text(&self) -> String {
        self.statuses
            .iter()
            .map(|s| {
                let closed = if s.closed { " | closed" } else { "" };
                format!("{} | {}{closed}", s.key, s.label)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn moves_text(&self) -> String {
        self.moves
            .iter()
            .map(|m| format!("{} -> {} | {}", m.from, m.to, m.least))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads the two texts; every line that cannot be read is named (its checks as a
    /// workflow come after, from [`Workflow::problems`]).
    pub fn from_text(statuses: &str, moves: &str) -> Result<Workflow, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut workflow = Workflow {
            statuses: Vec::new(),
            moves: Vec::new(),
        };
        let lines = |text: &str| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let statuses = lines(statuses);
        let moves = lines(moves);
        if statuses.len() > STATUSES_MAX || moves.len() > MOVES_MAX {
            problems.push((
                "workflow".into(),
                format!("Give at most {STATUSES_MAX} statuses and {MOVES_MAX} moves."),
            ));
            return Err(problems);
        }
        for (i, line) in statuses.iter().enumerate() {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            match parts[..] {
                [key, label] | [key, label, ""] => workflow.statuses.push(Status {
                    key: key.into(),
                    label: label.into(),
                    closed: false,
                }),
                [key, label, "closed"] => workflow.statuses.push(Status {
                    key: key.into(),
                    label: label.into(),
                    closed: true,
                }),
                _ => problems.push((
                    format!("statuses line {}", i + 1),
                    "Write `key | Label`, or `key | Label | closed`.".into(),
                )),
            }
        }
        for (i, line) in moves.iter().enumerate() {
            let read = line.split_once('|').and_then(|(way, role)| {
                let (from, to) = way.split_once("->")?;
                let least = [Role::Member, Role::Moderator, Role::Admin, Role::Owner]
                    .into_iter()
                    .find(|r| r.as_str() == role.trim())?;
                Some(Move {
                    from: from.trim().into(),
                    to: to.trim().into(),
                    least,
                })
            });
            match read {
                Some(m) => workflow.moves.push(m),
                None => problems.push((
                    format!("moves line {}", i + 1),
                    "Write `from -> to | role` (member, moderator, admin or owner).".into(),
                )),
            }
        }
        if problems.is_empty() {
            Ok(workflow)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_reads_back_from_its_text() {
        let w = Workflow::default();
        assert_eq!(
            Workflow::from_text(&w.statuses_text(), &w.moves_text()),
            Ok(w)
        );
        let bad =
            Workflow::from_text("new | New\nodd", "new -> done\nnew -> odd | boss").unwrap_err();
        let lines: Vec<&str> = bad.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(lines, ["statuses line 2", "moves line 1", "moves line 2"]);
    }

    #[test]
    fn the_default_workflow_holds_and_guards_its_moves() {
        let w = Workflow::default();
        assert!(w.problems().is_empty(), "{:?}", w.problems());
        assert_eq!(w.initial().map(|s| s.key.as_str()), Some("new"));
        assert_eq!(w.may_move("new", "in_progress", Role::Member), Ok(()));
        assert_eq!(
            w.may_move("completed", "archived", Role::Member),
            Err(Refused::RoleTooLow {
                least: Role::Moderator
            })
        );
        assert_eq!(w.may_move("completed", "archived", Role::Owner), Ok(()));
        let skip = w.may_move("new", "archived", Role::Owner).unwrap_err();
        assert!(skip.to_string().contains("no move"), "{skip}");
        assert!(matches!(
            w.may_move("new", "done", Role::Admin),
            Err(Refused::UnknownStatus(_))
        ));
    }

    #[test]
    fn an_edited_workflow_names_every_problem() {
        let mut w = Workflow::default();
        w.statuses.push(Status {
            key: "New Stuff".into(),
            label: " ".into(),
            closed: false,
        });
        w.statuses.push(Status {
            key: "new".into(),
            label: "Again".into(),
            closed: false,
        });
        w.moves.push(Move {
            from: "new".into(),
            to: "gone".into(),
            least: Role::Member,
        });
        w.moves.push(Move {
            from: "pending".into(),
            to: "pending".into(),
            least: Role::Member,
        });
        w.moves.push(w.moves[0].clone());
        let fields: Vec<String> = w.problems().into_iter().map(|(f, _)| f).collect();
        for field in [
            "statuses[5].key",
            "statuses[5].label",
            "statuses[6].key",
            "moves[8].to",
            "moves[9].to",
            "moves[10]",
        ] {
            assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
        }
    }
}
