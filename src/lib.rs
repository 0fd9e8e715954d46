//! Hearth: a self-hosted community hub in one executable.
//!
//! The crate is layered; `ARCHITECTURE.md` has the map and the rules, and `tests/it/layers.rs`
//! checks them. In short: `domain` is pure, `store` owns redb, `http` owns poem, `config` owns
//! files and the environment, and `service` is where use cases meet.

pub mod app;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod events;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod outbound;
pub mod search;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tls;
