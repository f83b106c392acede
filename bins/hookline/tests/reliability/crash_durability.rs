//! Crash durability: SIGKILL the server at a random moment while many connections write,
//! restart it on the same file, and find every acknowledged message — several rounds.
//!
//! docs/API.md promises that the 200 is sent only once the row is committed and fsynced; a kill
//! at any instant must therefore never lose an acknowledged row, nor corrupt the file.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::server::{Rng, Server, client, integrity_check, message_body, post_signed};

const ROUNDS: usize = 4;
const WRITERS: usize = 16;
/// A bound on the posts of one writer in one round, whatever the machine's speed.
const MAX_POSTS_PER_WRITER: usize = 5_000;

#[test]
fn every_acknowledged_message_survives_sigkill_at_a_random_moment() {
    let seed = Rng::seed_from_env();
    let mut rng = Rng::new(seed);
    eprintln!("crash durability: seed {seed}");
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("app.db");
    let mut acknowledged_total = BTreeSet::new();
    let mut unanswered = 0usize;

    for round in 0..ROUNDS {
        let mut server = Server::start(&db);
        // The previous round's acknowledgements, checked on this restart.
        let (stored, total) = server.stored_ids();
        let lost: Vec<_> = acknowledged_total.difference(&stored).take(10).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged messages lost after SIGKILL (first 10): {lost:?}"
        );
        assert_eq!(
            total,
            stored.len() as u64,
            "total disagrees with the rows listed"
        );
        assert_eq!(integrity_check(&db), "ok", "round {round}: integrity_check");

        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let acknowledged = acknowledged.clone();
                let stop = stop.clone();
                let base = server.base();
                std::thread::spawn(move || {
                    let client = client(Duration::from_secs(5));
                    let mut failed = 0;
                    for n in 0..MAX_POSTS_PER_WRITER {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let id = format!("crash-{round}-{writer}-{n}");
                        match post_signed(&client, &base, &message_body(&id, "durable?")) {
                            Some(200) => acknowledged.lock().unwrap().push(id),
                            Some(status) => panic!("{id}: unexpected {status} before the kill"),
                            None => failed += 1,
                        }
                        if failed > 0 {
                            break; // the server is gone
                        }
                    }
                    failed
                })
            })
            .collect();
        let kill_after = Duration::from_millis(200 + rng.below(1_300) as u64);
        std::thread::sleep(kill_after);
        let killed_at = Instant::now();
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            unanswered += writer.join().unwrap();
        }
        let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
        eprintln!(
            "crash durability: round {round}: SIGKILL after {kill_after:?}, {} acknowledged this round ({:?} to stop writers)",
            acknowledged.len(),
            killed_at.elapsed()
        );
        assert!(
            !acknowledged.is_empty(),
            "round {round}: nothing was acknowledged before the kill"
        );
        acknowledged_total.extend(acknowledged);
    }

    // The last round's acknowledgements, then a clean stop and an offline check.
    let mut server = Server::start(&db);
    let (stored, _) = server.stored_ids();
    let lost: Vec<_> = acknowledged_total.difference(&stored).take(10).collect();
    assert!(
        lost.is_empty(),
        "acknowledged messages lost after the last SIGKILL: {lost:?}"
    );
    assert_eq!(integrity_check(&db), "ok");
    server.signal("TERM");
    assert!(server.wait_for_exit().success());
    assert_eq!(
        integrity_check(&db),
        "ok",
        "integrity_check after a clean stop"
    );
    eprintln!(
        "crash durability: {ROUNDS} rounds, {} acknowledged ids checked present ({} stored, {} requests cut by the kill)",
        acknowledged_total.len(),
        stored.len(),
        unanswered
    );
}
