//! Pure types and rules. Nothing here does IO or knows about storage, HTTP or the clock's
//! source: values come in, decisions come out.

pub mod account;
pub mod api_token;
pub mod audit;
pub mod deck;
pub mod directory;
pub mod hex;
pub mod ids;
pub mod invite;
pub mod job;
pub mod matching;
pub mod media;
pub mod message;
pub mod notification;
pub mod passkey;
pub mod permission;
pub mod places;
pub mod profile;
pub mod record;
pub mod record_attachment;
pub mod record_comment;
pub mod record_csv;
pub mod record_list;
pub mod role;
pub mod schedule;
pub mod search;
pub mod second_factor;
pub mod secret;
pub mod session;
pub mod settings;
pub mod story;
pub mod text;
pub mod workflow;
