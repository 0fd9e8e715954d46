//! `hearth bench-store`: durable single-record writes per second at 1, 16 and 256 concurrent
//! writers, with group commit and with one commit per write, on this machine's disk.

use std::sync::Arc;
use std::time::Instant;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Overrides};
use crate::domain::ids::{JobId, uuid_v7};
use crate::domain::job::Job;
use crate::store::{Store, StoreError, StoreOptions};

const CONCURRENCY: [usize; 3] = [1, 16, 256];

pub async fn store_writes(overrides: Overrides, writes: usize) -> Result<(), String> {
    let config = Config::load(&overrides).map_err(|e| e.to_string())?;
    let base = config.storage.data_dir.join("bench-store");
    println!(
        "Durable writes per second ({writes} single-record writes per run, fsync on every commit)"
    );
    println!("Data: {}", base.display());
    println!();
    println!("| writers | group commit (writes/s) | commit per write (writes/s) | speed-up |");
    println!("|---:|---:|---:|---:|");
    for writers in CONCURRENCY {
        let grouped = run(&base, writers, writes, StoreOptions::default()).await?;
        let single = run(
            &base,
            writers,
            writes,
            StoreOptions {
                max_batch: 1,
                ..StoreOptions::default()
            },
        )
        .await?;
        println!(
            "| {writers} | {grouped:.0} | {single:.0} | {:.1}× |",
            grouped / single
        );
    }
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}

async fn run(
    base: &std::path::Path,
    writers: usize,
    writes: usize,
    options: StoreOptions,
) -> Result<f64, String> {
    let _ = std::fs::remove_dir_all(base);
    let clock = SystemClock;
    let dir = base.to_path_buf();
    let now = clock.now();
    let store = tokio::task::spawn_blocking(move || Store::open(&dir, now, options))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let per_writer = writes.div_ceil(writers);
    let store = Arc::new(store);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_writer {
                let now = clock.now();
                let job = Job {
                    id: JobId(uuid_v7(now.as_millisecond(), rand::random())),
                    kind: "bench".into(),
                    payload: vec![0; 64],
                    dedupe_key: None,
                    attempts: 0,
                    max_attempts: 1,
                    created_at: now,
                    run_at: now,
                    last_error: None,
                };
                store
                    .write(move |tx| tx.jobs().enqueue(&job).map(|_| ()))
                    .await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    store.close().await;
    Ok((per_writer * writers) as f64 / elapsed)
}

/// `hearth bench-media FILE`: the upload check and the processing job's work on one photo,
/// timed by stage (the processing stage includes decoding again, as the job does).
pub fn media(file: &std::path::Path) -> Result<(), String> {
    use crate::domain::media::{DecodeLimits, Format, sniff_image};
    use crate::media::photo;
    let head = std::fs::read(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .into_iter()
        .take(64)
        .collect::<Vec<u8>>();
    let format: Format = sniff_image(&head).ok_or("not a JPEG, PNG, WebP or GIF file")?;
    let limits = DecodeLimits::DEFAULT;
    let started = std::time::Instant::now();
    let checked = photo::check(file, format, limits).map_err(|e| e.to_string())?;
    let check_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = std::time::Instant::now();
    let processed = photo::process(file, format, limits).map_err(|e| e.to_string())?;
    let process_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{} x {} {}: check {check_ms:.1} ms, variants + blurhash {process_ms:.1} ms",
        checked.width,
        checked.height,
        format.as_str()
    );
    for (variant, bytes) in &processed.variants {
        println!("  {}: {} bytes", variant.as_str(), bytes.len());
    }
    Ok(())
}
