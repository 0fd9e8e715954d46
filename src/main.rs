//! `hearth`: parse the command line, load the configuration, dispatch.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use hearth::app::{App, Listeners, termination_signal};
use hearth::cli::{Cli, Command};
use hearth::clock::SystemClock;
use hearth::config::{Config, schema};
use hearth::jobs::Registry;

/// jemalloc gives large freed allocations (a password hash's working memory, a decoded photo)
/// back to the system at once; glibc's allocator would keep them in per-thread arenas, so a
/// burst of sign-ins or uploads would leave the process big for good.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.as_ref().unwrap_or(&Command::Serve) {
        Command::Version => {
            println!("hearth {}", hearth::service::system::VERSION);
            ExitCode::SUCCESS
        }
        Command::PrintDefaultConfig => {
            print!("{}", schema::render_reference());
            ExitCode::SUCCESS
        }
        Command::CheckConfig => match Config::load(&cli.overrides()) {
            Ok(_) => {
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Reindex => match Config::load(&cli.overrides()) {
            Ok(config) => run_async(async move {
                hearth::app::reindex(config, std::sync::Arc::new(hearth::clock::SystemClock))
                    .await
                    .map(drop)
            }),
            Err(e) => {
                eprint!("{e}");
                ExitCode::from(2)
            }
        },
        Command::BenchStore { writes } => {
            run_async(hearth::bench::store_writes(cli.overrides(), *writes))
        }
        Command::DemoData {
            members,
            force,
            tokens,
            tokens_file,
            seed,
            messages,
            records,
        } => run_async(hearth::demo::run(
            cli.overrides(),
            hearth::demo::DemoOptions {
                members: *members,
                force: *force,
                tokens: *tokens,
                tokens_file: tokens_file.clone(),
                seed: *seed,
                photos: hearth::demo::TEMPLATES,
                messages: *messages,
                records: *records,
            },
        )),
        Command::ReadText { kind, file } => {
            match hearth::media::documents::read_text_command(kind, file) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::BenchMedia { file } => match hearth::bench::media(file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Command::Serve => {
            let config = match Config::load(&cli.overrides()) {
                Ok(c) => c,
                Err(e) => {
                    eprint!("{e}");
                    return ExitCode::from(2);
                }
            };
            hearth::telemetry::init(&config.log);
            run_async(serve(config))
        }
    }
}

fn run_async(fut: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let listeners = Listeners::bind(&config).await.map_err(|e| e.to_string())?;
    let bound = listeners.main.local_addr().map_err(|e| e.to_string())?;
    let this_program = std::env::current_exe()
        .map_err(|e| format!("cannot find this program's own path (to read files' text): {e}"))?;
    let app = App::build(
        config,
        Arc::new(SystemClock),
        Registry::new(),
        bound,
        &this_program,
    )
    .await
    .map_err(|e| e.to_string())?;
    let base = app.public_base.clone();
    tracing::info!(address = %bound, data_dir = %app.config.storage.data_dir.display(), "Hearth is listening");
    println!("Hearth is listening on {base}");
    if let Some(link) = app.setup_link().await.map_err(|e| e.to_string())? {
        println!("Open this link to create the owner account: {link}");
    }
    app.run(listeners, termination_signal())
        .await
        .map_err(|e| e.to_string())
}
