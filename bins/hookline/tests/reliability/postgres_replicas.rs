//! Scale-out on PostgreSQL: several `hookline` processes on one database (each test in a
//! fresh schema of `HOOKLINE_TEST_POSTGRES_URL`; see `deploy/tests/with-postgres.sh`).
//!
//! - the same ids delivered to three replicas at once are stored exactly once, and the
//!   three `created` counters add up to the number of ids;
//! - a replica SIGKILLed under load loses nothing it acknowledged;
//! - PostgreSQL restarted under load: only 200 or 503 while it is down, nothing
//!   acknowledged lost, every replica ready again without a restart of its own.
//!
//! The tests share one server (and the restart test stops it), so they run one at a time.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use hookline_postgres::testing::{TestSchema, test_url};
use reqwest::blocking::Client;

use crate::harness::{Config, SECRET, TestApp, message, sign};

/// One PostgreSQL test at a time: the restart test stops the shared server.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `n` replicas on the schema's database, each waited for until ready.
fn replicas(schema: &TestSchema, n: usize) -> Vec<TestApp> {
    let apps: Vec<TestApp> = (0..n)
        .map(|_| {
            Config::new()
                .env("DATABASE_URL", schema.url())
                .spawn_process()
        })
        .collect();
    for app in &apps {
        wait_ready(app, Duration::from_secs(30));
    }
    apps
}

fn wait_ready(app: &TestApp, patience: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if app.get("/health/ready").map(|r| r.status().as_u16()).ok() == Some(200) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < patience,
            "replica not ready within {patience:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// POSTs a signed message; its status, or 0 when no answer came.
fn post(client: &Client, base: &str, id: &str) -> u16 {
    let body = message(id, "+919876543210", "2025-01-15T10:00:00Z", Some("hi")).to_string();
    client
        .post(format!("{base}/webhook"))
        .header("Content-Type", "application/json")
        .header("X-Signature", sign(SECRET, &body))
        .body(body)
        .send()
        .map_or(0, |r| r.status().as_u16())
}

fn stored_ids(schema: &TestSchema) -> BTreeSet<String> {
    schema
        .query_strings("SELECT message_id FROM messages")
        .into_iter()
        .collect()
}

#[test]
fn three_replicas_store_each_id_exactly_once_under_concurrent_delivery() {
    let _serial = serial();
    let Some(url) = test_url() else { return };
    let schema = TestSchema::create(&url);
    let apps = replicas(&schema, 3);
    let bases: Vec<String> = apps.iter().map(|a| a.base.clone()).collect();

    const IDS: usize = 100;
    let barrier = Arc::new(Barrier::new(IDS * bases.len()));
    let client = client();
    let threads: Vec<_> = (0..IDS)
        .flat_map(|i| bases.iter().map(move |base| (i, base.clone())))
        .map(|(i, base)| {
            let barrier = barrier.clone();
            let client = client.clone();
            std::thread::spawn(move || {
                barrier.wait();
                post(&client, &base, &format!("replicated-{i}"))
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, IDS * 3, "every delivery answered 200: {statuses:?}");

    let rows = schema.query_i64("SELECT count(*) FROM messages");
    let created: f64 = apps
        .iter()
        .map(|a| a.metric("webhook_requests_total{result=\"created\"}"))
        .sum();
    let duplicates: f64 = apps
        .iter()
        .map(|a| a.metric("webhook_requests_total{result=\"duplicate\"}"))
        .sum();
    eprintln!(
        "3 replicas, {} concurrent requests: {rows} rows, created summed over /metrics = {created}, duplicate = {duplicates}",
        IDS * 3
    );
    assert_eq!(rows, IDS as i64);
    assert_eq!(created, IDS as f64);
    assert_eq!(duplicates, (IDS * 2) as f64);
    let stats = apps[1].get_json("/stats", 200);
    assert_eq!(stats["total_messages"], IDS);
    assert_eq!(stats["messages_per_sender"][0]["count"], IDS);
}

/// Writers that post fresh ids round-robin to `bases` until told to stop; every 200 is
/// recorded. Returns (acknowledged ids, statuses seen).
fn load(
    bases: Vec<String>,
    writers: usize,
    stop: Arc<AtomicBool>,
    tag: &'static str,
) -> Vec<std::thread::JoinHandle<(Vec<String>, Vec<u16>)>> {
    (0..writers)
        .map(|w| {
            let bases = bases.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let client = Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let mut acked = Vec::new();
                let mut seen = Vec::new();
                for n in 0..20_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("{tag}-{w}-{n}");
                    let status = post(&client, &bases[n % bases.len()], &id);
                    if status == 200 {
                        acked.push(id);
                    }
                    seen.push(status);
                    if status != 200 {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                (acked, seen)
            })
        })
        .collect()
}

#[test]
fn a_replica_killed_under_load_loses_nothing_it_acknowledged() {
    let _serial = serial();
    let Some(url) = test_url() else { return };
    let schema = TestSchema::create(&url);
    let mut apps = replicas(&schema, 3);
    let bases: Vec<String> = apps.iter().map(|a| a.base.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writers = load(bases, 6, stop.clone(), "kill");
    std::thread::sleep(Duration::from_millis(1500));
    apps[0].kill();
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let mut acked = BTreeSet::new();
    for w in writers {
        acked.extend(w.join().unwrap().0);
    }
    let stored = stored_ids(&schema);
    let lost: Vec<_> = acked.difference(&stored).take(10).collect();
    eprintln!(
        "SIGKILL of one replica of three under load: {} acknowledged, {} stored, lost {}",
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(!acked.is_empty());
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
}

#[test]
fn postgres_restart_under_load_is_503_then_ready_again_without_losing_anything() {
    let _serial = serial();
    let Some(url) = test_url() else { return };
    let Some(cluster) = Cluster::from_env() else {
        return;
    };
    let schema = TestSchema::create(&url);
    let apps = replicas(&schema, 2);
    let bases: Vec<String> = apps.iter().map(|a| a.base.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writers = load(bases, 4, stop.clone(), "restart");
    std::thread::sleep(Duration::from_millis(1000));

    cluster.pg_ctl(&["-m", "fast", "-w", "restart"]);
    let ready_after: Vec<Duration> = apps
        .iter()
        .map(|a| wait_ready(a, Duration::from_secs(5)))
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);

    let mut acked = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut unavailable = 0;
    for w in writers {
        let (a, s) = w.join().unwrap();
        acked.extend(a);
        unavailable += s.iter().filter(|s| **s == 503).count();
        statuses.extend(s);
    }
    let stored = stored_ids(&schema);
    let lost: Vec<_> = acked.difference(&stored).take(10).collect();
    eprintln!(
        "pg_ctl restart -m fast under load: statuses {statuses:?} ({unavailable} × 503), \
         {} acknowledged, lost {}, ready again after {ready_after:?}",
        acked.len(),
        lost.len()
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "only 200 or 503 expected: {statuses:?}"
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    for app in &apps {
        assert_eq!(app.get("/health/ready").unwrap().status(), 200);
    }
}

#[test]
fn a_replica_started_before_its_database_is_not_ready_then_ready_when_it_appears() {
    let _serial = serial();
    let Some(url) = test_url() else { return };
    let Some(cluster) = Cluster::from_env() else {
        return;
    };
    let schema = TestSchema::create(&url);
    cluster.pg_ctl(&["-m", "fast", "-w", "stop"]);
    // Start the cluster again whatever happens below.
    struct Restart<'a>(&'a Cluster);
    impl Drop for Restart<'_> {
        fn drop(&mut self) {
            let log = format!("{}/../server.log", self.0.data);
            self.0.pg_ctl(&["-l", &log, "-w", "start"]);
        }
    }
    let restart = Restart(&cluster);
    let app = Config::new()
        .env("DATABASE_URL", schema.url())
        .spawn_process();
    let response = app.get("/health/ready").unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["reason"], "database unavailable");
    let body = message("early", "+919876543210", "2025-01-15T10:00:00Z", None).to_string();
    assert_eq!(app.post_signed(&body).status(), 503);
    drop(restart);
    let after = wait_ready(&app, Duration::from_secs(10));
    eprintln!("started without its database: 503, then ready {after:?} after the database came up");
    assert_eq!(app.post_signed(&body).status(), 200);
}

/// The throw-away cluster of deploy/tests/with-postgres.sh, for tests that stop it.
struct Cluster {
    data: String,
    bin: String,
}

impl Cluster {
    fn from_env() -> Option<Self> {
        match (
            std::env::var("HOOKLINE_TEST_POSTGRES_DATA"),
            std::env::var("HOOKLINE_TEST_POSTGRES_BIN"),
        ) {
            (Ok(data), Ok(bin)) => Some(Self { data, bin }),
            _ => {
                eprintln!(
                    "SKIPPED: this test stops PostgreSQL and needs the cluster of \
                     deploy/tests/with-postgres.sh (HOOKLINE_TEST_POSTGRES_DATA, HOOKLINE_TEST_POSTGRES_BIN)"
                );
                None
            }
        }
    }

    fn pg_ctl(&self, args: &[&str]) {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c
        } else {
            Command::new("env")
        };
        let status = command
            .arg(format!("{}/pg_ctl", self.bin))
            .args(["-D", &self.data])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl {args:?} failed");
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
