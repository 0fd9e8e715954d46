//! Acknowledged writes survive SIGKILL. The test binary re-runs itself as a child process that
//! writes under concurrent load (jobs, and messages in a conversation) and prints the id of
//! every write the store acknowledged; the parent kills it at a random moment, reopens the
//! database and looks for every one of them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use hearth::clock::{Clock, SystemClock};
use hearth::domain::ids::{ConversationId, JobId, MessageId, UserId, uuid_v7};
use hearth::domain::job::Job;
use hearth::domain::message::{Conversation, Message};
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

/// A message in `conversation`, sent now.
async fn send_message(
    store: &Store,
    conversation: ConversationId,
) -> Result<MessageId, StoreError> {
    let now = SystemClock.now();
    let id = MessageId(uuid_v7(now.as_millisecond(), rand::random()));
    store
        .write(move |tx| {
            let c = tx
                .messages()
                .conversation(conversation)?
                .ok_or_else(|| StoreError::Database("the conversation is gone".into()))?;
            let message = Message {
                id,
                conversation,
                author: c.a,
                text: "still here after a crash?".into(),
                media: None,
                sent_at: now,
                edited_at: None,
                deleted: false,
            };
            tx.messages().add(&c, &message)
        })
        .await?;
    Ok(id)
}

/// The child: 64 writers as fast as they can, half enqueueing jobs and half sending messages,
/// printing each acknowledged id.
async fn write_until_killed(dir: std::path::PathBuf) {
    let store = Arc::new(Store::open(&dir, SystemClock.now(), StoreOptions::default()).unwrap());
    let round: u32 = rand::random();
    let now = SystemClock.now();
    let conversation = Conversation {
        id: ConversationId(uuid_v7(now.as_millisecond(), rand::random())),
        a: UserId::from_u128(rand::random()),
        b: UserId::from_u128(u128::MAX),
        started_by: UserId::from_u128(1),
        created_at: now,
        last_message: None,
        last_activity: now,
    };
    let conversation_id = conversation.id;
    store
        .write(move |tx| tx.messages().start(&conversation))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 32..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let id = send_message(&store, conversation_id).await?;
                println!("MSG {id}");
            }
            #[allow(unreachable_code)]
            Ok::<_, StoreError>(())
        }));
    }
    for writer in 0..32 {
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
    let mut sent: Vec<MessageId> = Vec::new();
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
            } else if let Some(id) = line.split("MSG ").nth(1) {
                sent.push(id.parse().unwrap());
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
        let missing: Vec<String> = store
            .read_blocking(|rx| {
                let mut missing = Vec::new();
                for id in &acknowledged {
                    if rx.jobs().pending(*id)?.is_none() {
                        missing.push(format!("job {id}"));
                    }
                }
                for id in &sent {
                    if rx.messages().message(*id)?.is_none() {
                        missing.push(format!("message {id}"));
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
    assert!(acknowledged.len() + sent.len() >= ROUNDS * 50);
    assert!(!sent.is_empty(), "messages were sent");
}
