//! The reliability tests' view of a server: the compiled `hookline` binary, started through
//! the shared harness (`tests/harness`) on a database file the test chooses, killed and
//! restarted, and read back in full.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{Value, json};

pub use crate::harness::SECRET;
use crate::harness::{Config, TestApp};

/// A running server process.
pub struct Server {
    app: TestApp,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// A client with a 10 s timeout and no redirects.
    pub client: Client,
}

impl Server {
    /// Starts the `hookline` binary (the harness's [`Config::spawn_process`]) on the
    /// database file `db` (created if missing), in `db`'s folder, and waits until
    /// `/health/live` answers 200.
    pub fn start(db: &Path) -> Self {
        let app = Config::new().database(db).spawn_process();
        let addr = app.base.trim_start_matches("http://").parse().unwrap();
        Self {
            app,
            addr,
            client: client(Duration::from_secs(10)),
        }
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
        self.app.is_running()
    }

    /// Sends a signal by name (`TERM`, `KILL`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        self.app.signal(name);
    }

    /// SIGKILL, then reap the process.
    pub fn kill(&mut self) {
        self.app.kill();
    }

    /// Waits for the process to exit on its own (at most the harness's `PATIENCE`).
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        self.app.wait_for_exit()
    }

    /// Whether the server logged a request line with this `X-Request-ID`.
    pub fn logged_request(&self, request_id: &str) -> bool {
        let needle = format!("\"request_id\":\"{request_id}\"");
        self.app
            .stdout
            .all()
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
