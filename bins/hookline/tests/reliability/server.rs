//! Starting the compiled `hookline` binary on a database file the test chooses, killing and
//! restarting it, and reading back everything it stored.
//!
//! Same approach as `tests/api/helpers.rs`: `PORT=0`, the bound address read from the
//! `listening` log line, an environment holding nothing but what the test sets.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{Value, json};

/// The secret every server here runs with.
pub const SECRET: &str = "reliability-secret";

/// How long to wait for start-up, exit, or a line in the log.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running server process.
pub struct Server {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Every stdout line so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// A client with a 10 s timeout and no redirects.
    pub client: Client,
}

impl Server {
    /// Starts `hookline` on the database file `db` (created if missing) and waits until
    /// `/health/live` answers 200.
    pub fn start(db: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookline"))
            .env_clear()
            .env("WEBHOOK_SECRET", SECRET)
            .env("DATABASE_URL", format!("sqlite:///{}", db.display()))
            .env("LOG_LEVEL", "INFO")
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .current_dir(db.parent().unwrap())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = stdout.clone();
        let pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + PATIENCE;
        let addr = loop {
            let found = stdout.lock().unwrap().iter().find_map(|l| {
                let v: Value = serde_json::from_str(l).ok()?;
                (v["msg"] == "listening").then(|| v["addr"].as_str().unwrap().parse().unwrap())
            });
            if let Some(addr) = found {
                break addr;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("hookline exited during start-up: {status}");
            }
            assert!(Instant::now() < deadline, "no `listening` line");
            std::thread::sleep(Duration::from_millis(20));
        };
        let server = Self {
            child,
            addr,
            stdout,
            client: client(Duration::from_secs(10)),
        };
        while server.status("/health/live") != Some(200) {
            assert!(Instant::now() < deadline, "/health/live never answered 200");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The status of `GET path`, or `None` when the request failed.
    pub fn status(&self, path: &str) -> Option<u16> {
        let response = self.client.get(format!("{}{path}", self.base())).send();
        response.ok().map(|r| r.status().as_u16())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends a signal by name (`TERM`, `KILL`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGKILL, then reap the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit on its own (at most [`PATIENCE`]).
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("hookline did not exit within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the server logged a request line with this `X-Request-ID`.
    pub fn logged_request(&self, request_id: &str) -> bool {
        let needle = format!("\"request_id\":\"{request_id}\"");
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(&needle) && l.contains("\"msg\":\"request\""))
    }

    /// Every stored `message_id`, read through `GET /messages` with the keyset cursor, and
    /// the `total` the first page reported.
    pub fn stored_ids(&self) -> (BTreeSet<String>, u64) {
        let mut ids = BTreeSet::new();
        let mut url = format!("{}/messages?limit=100", self.base());
        let mut total = None;
        for _ in 0..100_000 {
            let response = self.client.get(&url).send().unwrap();
            assert_eq!(response.status(), 200, "GET {url}");
            let page: Value = response.json().unwrap();
            total.get_or_insert(page["total"].as_u64().unwrap());
            for m in page["data"].as_array().unwrap() {
                let id = m["message_id"].as_str().unwrap().to_owned();
                assert!(ids.insert(id.clone()), "{id} listed twice");
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    url = format!(
                        "{}/messages?limit=100&cursor={}",
                        self.base(),
                        percent_encode(cursor)
                    );
                }
                None => return (ids, total.unwrap()),
            }
        }
        panic!("the cursor walk did not end");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A blocking client with this timeout and no redirects.
pub fn client(timeout: Duration) -> Client {
    Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A valid webhook body for `id`.
pub fn message_body(id: &str, text: &str) -> String {
    json!({"message_id": id, "from": "+919876543210", "to": "+14155550100",
        "ts": "2025-01-15T10:00:00Z", "text": text})
    .to_string()
}

/// `X-Signature` of `body` under [`SECRET`].
pub fn sign(body: &[u8]) -> String {
    hookline_signature::sign(SECRET.as_bytes(), body)
}

/// Posts `body` signed; the status, or `None` when no response came.
pub fn post_signed(client: &Client, base: &str, body: &str) -> Option<u16> {
    client
        .post(format!("{base}/webhook"))
        .header("Content-Type", "application/json")
        .header("X-Signature", sign(body.as_bytes()))
        .body(body.to_owned())
        .send()
        .ok()
        .map(|r| r.status().as_u16())
}

/// `PRAGMA integrity_check` of the file, through python3's sqlite3 (read-only).
pub fn integrity_check(db: &Path) -> String {
    let script = "import sqlite3,sys\n\
        c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\n\
        print(';'.join(r[0] for r in c.execute('PRAGMA integrity_check')))";
    let out = Command::new("python3")
        .args(["-c", script, &db.display().to_string()])
        .output()
        .expect("python3 is needed for PRAGMA integrity_check");
    assert!(
        out.status.success(),
        "integrity_check could not run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Percent-encodes everything but unreserved characters.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A small deterministic PRNG (xorshift64*), so a failing run can be replayed by its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// A seed from the clock, or from `HOOKLINE_TEST_SEED` when set.
    pub fn seed_from_env() -> u64 {
        std::env::var("HOOKLINE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
