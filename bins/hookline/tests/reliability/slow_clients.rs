//! Slow clients: hundreds of connections trickling their request head (one byte every
//! 500 ms) neither stop others being served nor stay open past the server's configured
//! head timeout (`server::CLIENT_REQUEST_TIMEOUT`, 5 s).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::server::{Server, client, message_body, post_signed};

const TRICKLERS: usize = 300;
const BYTE_EVERY: Duration = Duration::from_millis(500);
/// `CLIENT_REQUEST_TIMEOUT` in `bins/hookline/src/server.rs`.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Timer granularity and a busy machine.
const MARGIN: Duration = Duration::from_secs(5);
/// What a normal client waits for an answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

struct Trickler {
    stream: TcpStream,
    opened: Instant,
    sent: usize,
    /// When the server closed it, and whether it answered first (a 408).
    closed: Option<(Duration, bool)>,
}

#[test]
fn trickling_clients_do_not_stop_others_being_served_and_are_cut_off_by_the_head_timeout() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("app.db"));
    let head: Vec<u8> = [
        &b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "[..],
        &[b'a'; 200][..],
    ]
    .concat();
    let mut tricklers: Vec<Trickler> = (0..TRICKLERS)
        .map(|_| {
            let stream = TcpStream::connect(server.addr).unwrap();
            stream.set_nonblocking(true).unwrap();
            Trickler {
                stream,
                opened: Instant::now(),
                sent: 0,
                closed: None,
            }
        })
        .collect();

    // Normal clients, served while the tricklers hold their connections.
    let trickling = Arc::new(AtomicBool::new(true));
    let normal = {
        let trickling = trickling.clone();
        let base = server.base();
        std::thread::spawn(move || {
            let client = client(CLIENT_TIMEOUT);
            let mut served = 0;
            for n in 0..40 {
                if !trickling.load(Ordering::Relaxed) {
                    break;
                }
                let live = client.get(format!("{base}/health/live")).send();
                assert_eq!(
                    live.map(|r| r.status().as_u16()).ok(),
                    Some(200),
                    "/health/live not answered within {CLIENT_TIMEOUT:?} while clients trickle"
                );
                let id = format!("slow-normal-{n}");
                assert_eq!(
                    post_signed(&client, &base, &message_body(&id, "not slow")),
                    Some(200),
                    "a signed webhook not answered within {CLIENT_TIMEOUT:?} while clients trickle"
                );
                served += 2;
                std::thread::sleep(Duration::from_millis(250));
            }
            served
        })
    };

    let started = Instant::now();
    let mut buf = [0u8; 1024];
    while tricklers.iter().any(|t| t.closed.is_none())
        && started.elapsed() < HEAD_TIMEOUT + MARGIN + BYTE_EVERY
    {
        for t in tricklers.iter_mut().filter(|t| t.closed.is_none()) {
            let byte = head[t.sent % head.len()];
            let wrote = t.stream.write(&[byte]);
            let read = t.stream.read(&mut buf);
            t.closed = match (wrote, read) {
                (_, Ok(0)) => Some((t.opened.elapsed(), false)),
                (_, Ok(_)) => Some((t.opened.elapsed(), true)),
                (_, Err(e)) if e.kind() != ErrorKind::WouldBlock => {
                    Some((t.opened.elapsed(), false))
                }
                (Err(e), _) if e.kind() != ErrorKind::WouldBlock => {
                    Some((t.opened.elapsed(), false))
                }
                (Ok(_), _) => {
                    t.sent += 1;
                    None
                }
                (Err(_), _) => None,
            };
        }
        std::thread::sleep(BYTE_EVERY);
    }
    trickling.store(false, Ordering::Relaxed);
    let served = normal
        .join()
        .expect("a normal client was not served in time");

    let still_open = tricklers.iter().filter(|t| t.closed.is_none()).count();
    let answered = tricklers
        .iter()
        .filter(|t| t.closed.is_some_and(|c| c.1))
        .count();
    let slowest = tricklers.iter().filter_map(|t| t.closed.map(|c| c.0)).max();
    let most_bytes = tricklers.iter().map(|t| t.sent).max().unwrap_or(0);
    eprintln!(
        "slow clients: {TRICKLERS} trickling connections, {} cut off (slowest after {slowest:?}, {answered} with a response first, at most {most_bytes} bytes sent), {still_open} still open; {served} normal requests served meanwhile",
        TRICKLERS - still_open
    );
    assert_eq!(
        still_open,
        0,
        "{still_open} trickling connections still open after {:?}",
        HEAD_TIMEOUT + MARGIN
    );
    assert!(slowest.unwrap() <= HEAD_TIMEOUT + MARGIN);
    assert!(served > 0);
}
