//! The command line. Global flags override every other configuration layer.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    about = "A self-hosted community hub in one executable"
)]
pub struct Cli {
    /// Config file (TOML). Also HEARTH_CONFIG. Without one, the built-in defaults apply.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides storage.data_dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on, IP:PORT (overrides server.listen).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Validate the configuration and list every problem.
    CheckConfig,
    /// Print the reference configuration with every key and its default.
    PrintDefaultConfig,
    /// Print the version.
    Version,
    /// Measure durable write throughput of this disk: group commit against one commit per write.
    BenchStore {
        /// Writes per run.
        #[arg(long, default_value_t = 4000)]
        writes: usize,
    },
    /// Time the photo pipeline on one image: the upload check, then every variant and the
    /// blurhash (what an upload costs). Prints the stages in milliseconds.
    BenchMedia {
        /// A JPEG, PNG, WebP or GIF file.
        file: std::path::PathBuf,
    },
    /// Read a record file's text under the reader's limits and print the outcome as JSON
    /// (what the server runs for each file; not for people).
    #[command(hide = true)]
    ReadText {
        /// pdf, docx, odt, txt or csv.
        kind: String,
        file: std::path::PathBuf,
    },
    /// Rebuild the search index from the database, with a progress line. Run it with the
    /// server stopped (a running server rebuilds from the admin panel's System page).
    Reindex,
    /// Fill a new community with demo members (profiles, photos, likes, matches), for trying
    /// Hearth out and for benchmarks. Run it with the server stopped.
    DemoData {
        /// How many members to create.
        #[arg(long, default_value_t = 200)]
        members: usize,
        /// Add demo members even though the database has real ones.
        #[arg(long)]
        force: bool,
        /// Also make read-write API tokens for this many of them (for load tests).
        #[arg(long, default_value_t = 0)]
        tokens: usize,
        /// Where to write the tokens, one `member_id token` per line.
        #[arg(long, value_name = "PATH")]
        tokens_file: Option<PathBuf>,
        /// Seed for the random choices (the same seed makes the same community).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write this many messages, about 20 a conversation between matches.
        #[arg(long, default_value_t = 0)]
        messages: usize,
        /// Also write this many records (letters and documents of the last two years).
        #[arg(long, default_value_t = 0)]
        records: usize,
    },
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            data_dir: self.data_dir.clone(),
            listen: self.listen.clone(),
            ignore_environment: false,
        }
    }
}
