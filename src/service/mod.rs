//! Use cases. Services combine domain rules, the store and the job queue; they return their own
//! errors and never HTTP types, so the web layer decides how each error looks.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod directory;
pub mod discovery;
pub mod error;
pub mod limits;
pub mod mail;
pub mod matching;
pub mod media;
pub mod member_data;
pub mod messages;
pub mod notifications;
pub mod passkeys;
pub mod passwords;
pub mod profiles;
pub mod public_profiles;
pub mod realtime;
pub mod records;
pub mod registration;
pub mod search;
pub mod second_factor;
pub mod self_service;
pub mod settings;
pub mod sign_in_cache;
pub mod staff;
pub mod stats;
pub mod stories;
pub mod system;
pub mod tokens;

/// Storage failures, as services report them to their callers.
pub use crate::store::StoreError;
