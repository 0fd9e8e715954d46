//! Acknowledged writes survive SIGKILL. The test binary re-runs itself as a child process that
//! writes under concurrent load and prints the id of every write the store acknowledged; the
//! parent kills it at a random moment, reopens the database and looks for every one of them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use hearth::clock::{Clock, SystemClock};
use hearth::domain::ids::{JobId, uuid_v7};
use hearth::domain::job::Job;
use hearth::store::{Store, StoreError, StoreOptions};

const CHILD_ENV: &str = "IT_CRASH_WRITER_DIR";
const ROUNDS: usize = 5;

fn job(now: jiff::Timestamp, key: String) -> Job {
    Job {
        id: JobId(uuid_v7(now.as_millisecond(), rand::random())),
        kind: "crash.test".into(),
        payload: vec![7; 100],
        dedupe_key: Some(key),
        attempts: 0,
        max_attempts: 1,
        created_at: now,
        run_at: now,
        last_error: None,
    }
}

/// The child: 64 writers enqueue jobs as fast as they can, printing each acknowledged id.
async fn write_until_killed(dir: std::path::PathBuf) {
    let store = Arc::new(Store::open(&dir, SystemClock.now(), StoreOptions::default()).unwrap());
    let round: u32 = rand::random();
    let mut tasks = Vec::new();
    for writer in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let job = job(SystemClock.now(), format!("{round}-{writer}-{n}"));
                let id = job.id;
                store
                    .write(move |tx| tx.jobs().enqueue(&job).map(|_| ()))
                    .await?;
                println!("ACK {id}");
            }
            Ok::<_, StoreError>(())
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(write_until_killed(dir.into()));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<JobId> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash::acknowledged_writes_survive_sigkill",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill after a random number of acknowledgements: a random moment in the write stream.
        let kill_after = 50 + rand::random::<u32>() as usize % 3000;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < kill_after {
            let Some(Ok(line)) = lines.next() else { break };
            // The first line starts with libtest's own "test … ... ".
            if let Some(id) = line.split("ACK ").nth(1) {
                acknowledged.push(id.parse().unwrap());
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            seen >= kill_after,
            "round {round}: the child stopped early after {seen} writes"
        );

        let store = Store::open(dir.path(), SystemClock.now(), StoreOptions::default())
            .expect("reopens cleanly after SIGKILL");
        let missing: Vec<JobId> = store
            .read_blocking(|rx| {
                let mut missing = Vec::new();
                for id in &acknowledged {
                    if rx.jobs().pending(*id)?.is_none() {
                        missing.push(*id);
                    }
                }
                Ok::<_, StoreError>(missing)
            })
            .unwrap();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged writes lost: {missing:?}",
            missing.len()
        );
        // Release the file before the next child opens it.
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(store.close());
        drop(store);
    }
    assert!(acknowledged.len() >= ROUNDS * 50);
}
