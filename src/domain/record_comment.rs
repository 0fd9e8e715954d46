//! Comments on records: threaded (a reply names its parent, at most five deep), editable by
//! their author for 15 minutes, deleted as a tombstone that keeps the thread's shape, and
//! naming people with `@username`.

use jiff::Timestamp;

use super::ids::{CommentId, RecordId, UserId};
use super::message::EDIT_WINDOW;
use super::text::plain_text_problem;

/// The deepest a reply goes: a comment on the record is depth 1.
pub const DEPTH_MAX: u8 = 5;
/// The longest comment.
pub const COMMENT_MAX_CHARS: usize = 4_000;
/// The most people one comment tells of a mention.
pub const MENTIONS_MAX: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub record: RecordId,
    /// The comment this one answers; none for a comment on the record itself.
    pub parent: Option<CommentId>,
    /// 1 on the record, one more for each reply down.
    pub depth: u8,
    pub author: UserId,
    /// Empty once deleted.
    pub text: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    /// Deleted: the thread shows "comment deleted" in its place.
    pub deleted: bool,
}

impl Comment {
    /// Whether its author may still edit it at `now`.
    pub fn editable_at(&self, now: Timestamp) -> bool {
        !self.deleted && now < self.created_at + EDIT_WINDOW
    }
}

/// A comment's text as it is kept (line endings as `\n`, blank ends trimmed), or why it
/// cannot be.
pub fn check_text(text: &str) -> Result<String, String> {
    let text = text.replace("\r\n", "\n").trim().to_string();
    if text.is_empty() {
        return Err("Write something.".into());
    }
    if text.chars().count() > COMMENT_MAX_CHARS {
        return Err(format!("Use at most {COMMENT_MAX_CHARS} characters."));
    }
    if let Some(why) = plain_text_problem(&text, true) {
        return Err(why.to_string());
    }
    Ok(text)
}

/// The usernames a text mentions (`@ann`, `@bob.smith`), lower-cased, each once, at most
/// [`MENTIONS_MAX`]. An `@` inside a word (an email address) is not a mention.
pub fn mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let starts = c == '@' && !prev.is_some_and(|p| p.is_alphanumeric() || p == '_');
        prev = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[i + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .unwrap_or(rest.len());
        let name = rest[..len].trim_end_matches(['.', '-']).to_lowercase();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
            if out.len() == MENTIONS_MAX {
                break;
            }
        }
    }
    out
}

/// The order a thread reads in: each comment followed by its replies (oldest first at every
/// level). `comments` come oldest first; a reply whose parent is missing goes at the end.
pub fn thread_order(comments: Vec<Comment>) -> Vec<Comment> {
    use std::collections::HashMap;
    let mut children: HashMap<Option<CommentId>, Vec<Comment>> = HashMap::new();
    let ids: std::collections::HashSet<CommentId> = comments.iter().map(|c| c.id).collect();
    let mut orphans = Vec::new();
    for c in comments {
        match c.parent {
            Some(p) if !ids.contains(&p) => orphans.push(c),
            parent => children.entry(parent).or_default().push(c),
        }
    }
    let mut out = Vec::new();
    // Depth-first without recursion: a stack of the comments still to write, next on top.
    let mut stack: Vec<Comment> = children.remove(&None).unwrap_or_default();
    stack.reverse();
    while let Some(c) = stack.pop() {
        if let Some(mut replies) = children.remove(&Some(c.id)) {
            replies.reverse();
            stack.extend(replies);
        }
        out.push(c);
    }
    out.extend(orphans);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_names_after_an_at_sign_not_addresses() {
        assert_eq!(
            mentions("@Ann and @bob.smith, see mail@example.org. @ann again @"),
            ["ann", "bob.smith"]
        );
        assert_eq!(mentions("(@cyd)"), ["cyd"]);
        let many: String = (0..30).map(|i| format!("@m{i} ")).collect();
        assert_eq!(mentions(&many).len(), MENTIONS_MAX);
    }

    #[test]
    fn a_thread_reads_each_comment_then_its_replies() {
        let at = Timestamp::UNIX_EPOCH;
        let c = |n: u128, parent: Option<u128>| Comment {
            id: CommentId::from_u128(n),
            record: RecordId::from_u128(1),
            parent: parent.map(CommentId::from_u128),
            depth: 1,
            author: UserId::from_u128(1),
            text: n.to_string(),
            created_at: at,
            edited_at: None,
            deleted: false,
        };
        let ordered = thread_order(vec![
            c(1, None),
            c(2, None),
            c(3, Some(1)),
            c(4, Some(3)),
            c(5, Some(1)),
            c(6, Some(99)),
        ]);
        let texts: Vec<&str> = ordered.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["1", "3", "4", "5", "2", "6"]);
    }

    #[test]
    fn comment_text_is_tidied_or_refused() {
        assert_eq!(check_text(" Hi\r\nthere \n").unwrap(), "Hi\nthere");
        assert!(check_text("  ").is_err());
        assert!(check_text(&"x".repeat(COMMENT_MAX_CHARS + 1)).is_err());
        assert!(check_text("bidi\u{202E}").is_err());
    }
}
