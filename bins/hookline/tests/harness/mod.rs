//! Starting the server for a test, talking to it, reading its logs: the one harness of the
//! `api` and `reliability` test binaries (each uses part of it).
//!
//! [`Config::spawn`] builds the real application (`hookline::server::Application`) inside the
//! test process, bound to a port the OS picked, with a fresh database in its own temporary
//! folder and settings holding nothing but what the test sets; its JSON log lines are
//! captured in [`TestApp::stdout`]. Dropping it stops the server.
//!
//! [`Config::spawn_process`] starts the compiled binary instead, with the same settings as
//! its only environment, for what only a process shows: signals, exit codes, what reaches
//! stdout, and metrics (the `metrics` facade has one recorder per process, which in-process
//! apps would share). Dropping it kills the process.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use hookline::config::Settings;
use hookline::server::Application;
use metrics_exporter_prometheus::PrometheusHandle;

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The secret most tests run with.
pub const SECRET: &str = "testsecret";

/// How long a test waits for the server to start, a line to appear, or the process to exit.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Lines a process wrote, shared with the thread that reads them.
#[derive(Clone, Default)]
pub struct Lines {
    inner: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Lines {
    fn push(&self, line: String) {
        let (lines, ready) = &*self.inner;
        lines.lock().unwrap().push(line);
        ready.notify_all();
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.inner.0.lock().unwrap().clone()
    }

    /// Waits until a line satisfies `want` and returns it.
    pub fn wait_for(&self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let (lines, ready) = &*self.inner;
        let deadline = Instant::now() + PATIENCE;
        let mut guard = lines.lock().unwrap();
        loop {
            if let Some(line) = guard.iter().find(|l| want(l)) {
                return line.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "no line with {what} in:\n{}",
                guard.join("\n")
            );
            guard = ready.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    /// A writer that adds every complete line written to it.
    fn writer(&self) -> LineWriter {
        LineWriter {
            lines: self.clone(),
            partial: Vec::new(),
        }
    }

    fn read_from(self, stream: impl Read + Send + 'static) {
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                match line {
                    Ok(line) => self.push(line),
                    Err(_) => break,
                }
            }
        });
    }
}

/// Collects what the in-process server's logger writes, one line at a time.
struct LineWriter {
    lines: Lines,
    partial: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.lines
                .push(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's one Prometheus recorder, shared by every in-process app.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| hookline::telemetry::init_metrics().unwrap())
        .clone()
}

/// How to start a server.
pub struct Config {
    env: Vec<(String, String)>,
    dir: TempDir,
    /// The working directory, when not [`Self::dir`].
    working_dir: Option<std::path::PathBuf>,
}

impl Config {
    /// Secret [`SECRET`], a fresh database file, `LOG_LEVEL=INFO`, 127.0.0.1 and `PORT=0`.
    pub fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("data").join("app.db");
        let mut config = Self {
            env: Vec::new(),
            dir,
            working_dir: None,
        };
        config = config
            .env("WEBHOOK_SECRET", SECRET)
            .env("DATABASE_URL", &format!("sqlite:///{}", db.display()))
            .env("LOG_LEVEL", "INFO")
            .env("HOST", "127.0.0.1")
            .env("PORT", "0");
        config
    }

    /// Sets (or replaces) one variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Listens on a port chosen now (free at the time) instead of `PORT=0`, for servers
    /// whose `listening` line is filtered out by `LOG_LEVEL`.
    pub fn fixed_port(self) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        self.env("PORT", &port.to_string())
    }

    /// Uses the database file `path` (created if missing) and runs in its folder, for tests
    /// that restart a server on the same database or put it on a special filesystem.
    pub fn database(mut self, path: &std::path::Path) -> Self {
        self.working_dir = path.parent().map(std::path::Path::to_path_buf);
        self.env("DATABASE_URL", &format!("sqlite:///{}", path.display()))
    }

    /// Removes one variable.
    pub fn without(mut self, key: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self
    }

    /// The value of one variable.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The temporary folder the server runs in (its working directory).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
        command
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.working_dir.as_deref().unwrap_or(self.dir.path()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Builds the application in this process from these settings, serves it on its own
    /// thread, and waits until `/health/live` answers.
    pub fn spawn(self) -> TestApp {
        let vars: HashMap<String, String> = self.env.iter().cloned().collect();
        let settings = Settings::from_vars(vars).unwrap();
        let level = settings.log_level;
        let stdout = Lines::default();
        let (log, guard) = hookline::telemetry::logger_to(stdout.writer(), level);
        let (tell, started) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match Application::build(settings, &log, metrics_handle()) {
                    Ok(app) => {
                        tell.send(Ok((app.port(), app.handle()))).unwrap();
                        app.run_until_stopped().await.unwrap();
                    }
                    Err(e) => tell.send(Err(e.to_string())).unwrap(),
                }
                drop(log);
                drop(guard);
            });
        });
        let (port, handle) = started
            .recv_timeout(PATIENCE)
            .unwrap()
            .unwrap_or_else(|e| panic!("the application did not build: {e}"));
        TestApp::ready(
            format!("127.0.0.1:{port}"),
            Running::InProcess {
                handle,
                thread: Some(thread),
            },
            stdout,
            Lines::default(),
            self,
        )
    }

    /// Starts the compiled binary and waits until `/health/live` answers.
    pub fn spawn_process(self) -> TestApp {
        let mut child = self.command().spawn().unwrap();
        let stdout = Lines::default();
        let stderr = Lines::default();
        stdout.clone().read_from(child.stdout.take().unwrap());
        stderr.clone().read_from(child.stderr.take().unwrap());
        let addr = match self.var("PORT") {
            // The OS picked the port: the `listening` line says which.
            Some("0") => {
                let listening =
                    stdout.wait_for("\"listening\"", |l| l.contains("\"msg\":\"listening\""));
                serde_json::from_str::<Value>(&listening).unwrap()["addr"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
            Some(port) => format!("127.0.0.1:{port}"),
            None => "127.0.0.1:8000".to_owned(),
        };
        TestApp::ready(addr, Running::Process(child), stdout, stderr, self)
    }

    /// Runs the binary expecting it to stop on its own; returns its exit status and stdout.
    pub fn run_to_exit(self) -> (ExitStatus, Vec<String>) {
        let mut child = self.command().spawn().unwrap();
        let stdout = Lines::default();
        stdout.clone().read_from(child.stdout.take().unwrap());
        let status = wait_with_deadline(&mut child);
        // Let the reader thread catch the last line.
        std::thread::sleep(Duration::from_millis(100));
        (status, stdout.all())
    }
}

impl TestApp {
    /// A started server, once `/health/live` answers.
    fn ready(addr: String, running: Running, stdout: Lines, stderr: Lines, config: Config) -> Self {
        let app = TestApp {
            base: format!("http://{addr}"),
            port: addr.rsplit(':').next().unwrap().parse().unwrap(),
            client: Client::builder()
                .timeout(PATIENCE)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            running,
            stdout,
            stderr,
            config,
        };
        let deadline = Instant::now() + PATIENCE;
        while app.get("/health/live").map(|r| r.status()).ok() != Some(200.try_into().unwrap()) {
            assert!(Instant::now() < deadline, "/health/live never answered 200");
            std::thread::sleep(Duration::from_millis(20));
        }
        app
    }
}

fn wait_with_deadline(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where the server runs.
enum Running {
    /// In this process, on its own thread.
    InProcess {
        handle: ServerHandle,
        thread: Option<std::thread::JoinHandle<()>>,
    },
    /// The compiled binary.
    Process(Child),
}

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The port it listens on.
    pub port: u16,
    /// A client without redirects.
    pub client: Client,
    running: Running,
    /// What it wrote on stdout.
    pub stdout: Lines,
    /// What it wrote on stderr.
    pub stderr: Lines,
    /// How it was started (holds the temporary folder).
    pub config: Config,
}

impl TestApp {
    /// Starts a server with the default [`Config`].
    pub fn spawn() -> Self {
        Config::new().spawn()
    }

    /// The process id (of a server started with [`Config::spawn_process`]).
    pub fn pid(&self) -> u32 {
        self.child().id()
    }

    fn child(&self) -> &Child {
        match &self.running {
            Running::Process(child) => child,
            Running::InProcess { .. } => panic!("this test needs Config::spawn_process"),
        }
    }

    /// `GET path` (path may carry a raw query string, sent as written).
    pub fn get(&self, path: &str) -> reqwest::Result<Response> {
        self.client.get(format!("{}{path}", self.base)).send()
    }

    /// `GET path` and its JSON body, asserting the status.
    pub fn get_json(&self, path: &str, status: u16) -> Value {
        let response = self.get(path).unwrap();
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        response.json().unwrap()
    }

    /// `POST /webhook` with `body` signed by [`SECRET`] as `X-Signature`, JSON content type.
    pub fn post_signed(&self, body: &str) -> Response {
        self.post_webhook(body, &[("X-Signature", &sign(SECRET, body))])
    }

    /// `POST /webhook` with `body`, `Content-Type: application/json` and extra headers.
    pub fn post_webhook(&self, body: &str, headers: &[(&str, &str)]) -> Response {
        self.post_json("/webhook", body.to_owned(), headers)
    }

    /// `POST path` with `body`, `Content-Type: application/json` and extra headers.
    pub fn post_json(
        &self,
        path: &str,
        body: impl Into<reqwest::blocking::Body>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().unwrap()
    }

    /// `POST /webhook` with exactly these headers (no default Content-Type).
    pub fn post_raw(
        &self,
        body: impl Into<reqwest::blocking::Body>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .post(format!("{}/webhook", self.base))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().unwrap()
    }

    /// Stores a message through the API, asserting 200.
    pub fn store(&self, id: &str, from: &str, ts: &str, text: Option<&str>) {
        let body = message(id, from, ts, text).to_string();
        let response = self.post_signed(&body);
        assert_eq!(response.status(), 200, "storing {id}");
    }

    /// The value of one series in `/metrics`, e.g. `webhook_requests_total{result="created"}`,
    /// of a server started with [`Config::spawn_process`] (in-process apps share one recorder).
    pub fn metric(&self, series: &str) -> f64 {
        self.child();
        let text = self.get("/metrics").unwrap().text().unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Sends a signal with the `kill` command (no `unsafe` here).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process (of [`Config::spawn_process`]) is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.running {
            Running::Process(child) => child.try_wait().unwrap().is_none(),
            Running::InProcess { .. } => panic!("this test needs Config::spawn_process"),
        }
    }

    /// SIGKILL (of [`Config::spawn_process`]), then reap the process.
    pub fn kill(&mut self) {
        match &mut self.running {
            Running::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Running::InProcess { .. } => panic!("this test needs Config::spawn_process"),
        }
    }

    /// Waits for the process to exit on its own.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        match &mut self.running {
            Running::Process(child) => wait_with_deadline(child),
            Running::InProcess { .. } => panic!("this test needs Config::spawn_process"),
        }
    }

    /// Waits until every request answered so far is in the log: sends one more request and
    /// waits for its line (lines are written in the order the requests were answered).
    pub fn flush_logs(&self) {
        let marker = format!("flush-{}", uuid_like());
        let response = self
            .client
            .get(format!("{}/health/live", self.base))
            .header("X-Request-ID", &marker)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        self.request_line(&marker);
    }

    /// Stdout lines parsed as JSON (after [`Self::flush_logs`]), asserting that every one is a
    /// JSON object.
    pub fn log_lines(&self) -> Vec<Value> {
        self.flush_logs();
        self.stdout
            .all()
            .iter()
            .map(|line| {
                let value: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                assert!(value.is_object(), "not an object: {line}");
                value
            })
            .collect()
    }

    /// Waits for the request log line with this request id.
    pub fn request_line(&self, request_id: &str) -> Value {
        let needle = format!("\"request_id\":\"{request_id}\"");
        let line = self.stdout.wait_for(&needle, |l| {
            l.contains(&needle) && l.contains("\"msg\":\"request\"")
        });
        serde_json::from_str(&line).unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &mut self.running {
            Running::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Running::InProcess { handle, thread } => {
                // `stop` sends the command at once; its future only waits for the result.
                drop(handle.stop(false));
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// A webhook body.
pub fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> Value {
    let mut body = json!({"message_id": id, "from": from, "to": "+14155550100", "ts": ts});
    if let Some(text) = text {
        body["text"] = text.into();
    }
    body
}

/// The `X-Signature` of `body` under `secret`.
pub fn sign(secret: &str, body: &str) -> String {
    hookline_signature::sign(secret.as_bytes(), body.as_bytes())
}

/// The ids of a `/messages` page, in order.
pub fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A string unique within this test run.
pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
