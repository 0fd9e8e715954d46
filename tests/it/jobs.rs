//! The durable job queue: retries with backoff, the failed list, dedupe, panics, schedules,
//! and a job interrupted by SIGKILL running after restart.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hearth::clock::ManualClock;
use hearth::jobs::{
    EnqueueOptions, JobError, JobOutcome, JobQueue, Registry, ScheduleSpec, Scheduler,
};
use hearth::store::jobs::Enqueued;
use hearth::store::{Store, StoreOptions};

use hearth::clock::Clock;

use crate::helpers::{TestApp, start_time};

fn queue_in(
    dir: &std::path::Path,
    registry: Registry,
    max_attempts: u32,
) -> (JobQueue, Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start_time()));
    let store = Store::open(dir, start_time(), StoreOptions::default()).unwrap();
    (
        JobQueue::new(store.clone(), clock.clone(), registry, max_attempts),
        store,
        clock,
    )
}

#[tokio::test]
async fn failing_jobs_back_off_then_land_in_the_failed_list() {
    let dir = tempfile::tempdir().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    let counter = runs.clone();
    registry.register("test.fail", move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err(JobError::retry("the remote said no")) }
    });
    let (queue, _store, clock) = queue_in(dir.path(), registry, 3);
    queue
        .enqueue(
            "test.fail",
            &serde_json::json!({"n": 1}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();

    let Some(JobOutcome::Retrying { at, error, .. }) = queue.run_one_pending().await.unwrap()
    else {
        panic!("expected a retry")
    };
    assert_eq!(error, "the remote said no");
    let delay = at.duration_since(clock.now()).as_secs_f64();
    assert!(
        (8.0..=12.0).contains(&delay),
        "first retry after ~10 s with jitter, got {delay}"
    );
    assert_eq!(queue.run_one_pending().await.unwrap(), None, "not due yet");

    clock.advance(Duration::from_secs(13));
    let Some(JobOutcome::Retrying { at, .. }) = queue.run_one_pending().await.unwrap() else {
        panic!("expected a second retry")
    };
    let delay = at.duration_since(clock.now()).as_secs_f64();
    assert!(
        (16.0..=24.0).contains(&delay),
        "second retry after ~20 s, got {delay}"
    );

    clock.advance(Duration::from_secs(25));
    assert!(matches!(
        queue.run_one_pending().await.unwrap(),
        Some(JobOutcome::Failed { .. })
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let counts = queue.counts().await.unwrap();
    assert_eq!((counts.pending, counts.running, counts.failed), (0, 0, 1));
}

#[tokio::test]
async fn dedupe_keys_hold_while_a_job_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = Registry::new();
    registry.register("test.ok", |_| async { Ok(()) });
    let (queue, _store, _clock) = queue_in(dir.path(), registry, 3);
    let opts = || EnqueueOptions {
        dedupe_key: Some("digest:alice".into()),
        run_at: None,
    };
    let Enqueued::New(first) = queue.enqueue("test.ok", &(), opts()).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        queue.enqueue("test.ok", &(), opts()).await.unwrap(),
        Enqueued::Duplicate(first)
    );
    assert!(matches!(
        queue.run_one_pending().await.unwrap(),
        Some(JobOutcome::Succeeded { .. })
    ));
    assert!(
        matches!(
            queue.enqueue("test.ok", &(), opts()).await.unwrap(),
            Enqueued::New(_)
        ),
        "key released after completion"
    );
    assert!(
        queue
            .enqueue("no.such.kind", &(), EnqueueOptions::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_panicking_job_fails_alone_and_the_server_keeps_serving() {
    let mut registry = Registry::new();
    registry.register("test.panic", |_| async { panic!("boom") });
    let app = TestApp::spawn_with(registry, |_| {}).await;
    // Due in an hour on the manual clock, so the app's own workers leave it to this test.
    let later = app.clock.now() + jiff::SignedDuration::from_hours(1);
    app.queue
        .enqueue(
            "test.panic",
            &(),
            EnqueueOptions {
                dedupe_key: None,
                run_at: Some(later),
            },
        )
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(3600));
    let outcome = app.queue.run_one_pending().await.unwrap();
    let Some(JobOutcome::Retrying { error, .. }) = outcome else {
        panic!("expected a retry, got {outcome:?}")
    };
    assert!(error.contains("panicked: boom"), "{error}");
    let health = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn schedules_are_validated_and_fire_once_per_period() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = Registry::new();
    registry.register("test.tick", |_| async { Ok(()) });
    let (queue, store, clock) = queue_in(dir.path(), registry, 3);

    let bad = [
        ScheduleSpec {
            name: "bad",
            job_kind: "test.tick",
            recurrence: "every fortnight",
        },
        ScheduleSpec {
            name: "orphan",
            job_kind: "nope",
            recurrence: "every 1h",
        },
    ];
    let problems = Scheduler::new(&bad, queue.clone(), store.clone(), clock.clone())
        .err()
        .unwrap();
    assert_eq!(problems.len(), 2);

    let specs = [ScheduleSpec {
        name: "tick",
        job_kind: "test.tick",
        recurrence: "every 1h",
    }];
    let scheduler = Scheduler::new(&specs, queue.clone(), store, clock.clone()).unwrap();
    assert_eq!(
        scheduler.tick().await.unwrap(),
        0,
        "first tick only plans the next run"
    );
    clock.advance(Duration::from_secs(3600));
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert_eq!(
        scheduler.tick().await.unwrap(),
        0,
        "not twice in one period"
    );
    assert!(matches!(
        queue.run_one_pending().await.unwrap(),
        Some(JobOutcome::Succeeded { .. })
    ));
}

const CHILD_ENV: &str = "IT_JOB_CHILD_DIR";

#[test]
fn a_job_interrupted_by_sigkill_runs_after_restart() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The child: start a job that never finishes, and say so.
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let mut registry = Registry::new();
            registry.register("test.slow", |_| async {
                println!("JOB STARTED");
                std::future::pending::<()>().await;
                Ok(())
            });
            let (queue, _store, _clock) = queue_in(std::path::Path::new(&dir), registry, 5);
            queue
                .enqueue("test.slow", &"payload", EnqueueOptions::default())
                .await
                .unwrap();
            queue.run_one_pending().await.unwrap();
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "jobs::a_job_interrupted_by_sigkill_runs_after_restart",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // libtest prints the test name on the same line before the child's first output.
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.ends_with("JOB STARTED"))),
        "the child never started the job"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ran = Arc::new(AtomicUsize::new(0));
        let mut registry = Registry::new();
        let counter = ran.clone();
        registry.register("test.slow", move |job| {
            assert_eq!(job.payload, br#""payload""#);
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        });
        let (queue, _store, _clock) = queue_in(dir.path(), registry, 5);
        assert_eq!(
            queue.counts().await.unwrap().running,
            1,
            "the killed process left the job leased"
        );
        assert_eq!(queue.recover().await.unwrap(), 1);
        assert!(matches!(
            queue.run_one_pending().await.unwrap(),
            Some(JobOutcome::Succeeded { .. })
        ));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        let counts = queue.counts().await.unwrap();
        assert_eq!((counts.pending, counts.running, counts.failed), (0, 0, 0));
    });
}
