//! The integration tests: one binary, real parts (redb in a temp dir, a real server on port 0,
//! real child processes killed with SIGKILL, a real ACME CA).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts_api;
mod acme;
mod api_tokens;
mod config_file;
mod crash;
mod demo;
mod directory;
mod discovery;
mod events;
mod helpers;
mod http_shape;
mod jobs;
mod layers;
mod lists;
mod mail;
mod matching;
mod media;
mod member_data;
mod messages;
mod passkeys;
mod profiles;
mod registration;
mod self_service;
mod sessions;
mod settings_and_limits;
mod setup_and_sign_in;
mod smtp;
mod staff;
mod staff_rule;
mod store_catalog;
mod stories;
mod stream;
mod tls_files;
mod two_factor;
