//! Log lines written out once per burst instead of once per line.
//!
//! Every request writes one JSON line, and the log thread used to hand each line to the
//! kernel with its own `write` (slog-json's flush after every record). Under load that was
//! half of the log thread's CPU. Here the lines go into a buffer, which is written out
//! when the log thread has nothing more queued: a line still reaches stdout as soon as
//! the thread is idle, but a burst of lines costs one `write`.
//!
//! Three pieces share one count of the records queued but not yet written:
//! - [`Counting::front`], in front of the async drain, adds one per record it queues;
//! - [`Counting::back`], around the JSON drain on the log thread, takes one off per record
//!   done;
//! - [`Batched`], the JSON drain's writer, writes its buffer out at the end of a record
//!   (slog-json's flush) only when that record is the last one queued.
//!
//! A record queued while the buffer is held is always followed by its own end-of-record
//! flush, which sees it as the last. The buffer is also written out when it fills and
//! when the log thread ends (the [`LogGuard`](crate::telemetry::LogGuard) is dropped).

use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use slog::{Drain, OwnedKVList, Record};

/// Bytes the buffer holds before it is written out regardless.
const BUFFER_BYTES: usize = 64 * 1024;

/// Records queued for the log thread and not yet written.
#[derive(Debug, Clone, Default)]
pub struct Queued(Arc<AtomicUsize>);

impl Queued {
    fn add(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    fn done(&self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether the record being written is the only one queued.
    fn only_one(&self) -> bool {
        self.0.load(Ordering::Acquire) <= 1
    }
}

/// A drain that keeps the [`Queued`] count: in front of the log thread's queue
/// ([`Counting::front`]) it counts each record it queues; on the log thread
/// ([`Counting::back`]) it counts each record done once it is written (or failed).
pub struct Counting<D> {
    inner: D,
    queued: Queued,
    front: bool,
}

impl<D> Counting<D> {
    /// In front of the queue.
    pub fn front(inner: D, queued: Queued) -> Self {
        Self {
            inner,
            queued,
            front: true,
        }
    }

    /// On the log thread, around the drain that writes.
    pub fn back(inner: D, queued: Queued) -> Self {
        Self {
            inner,
            queued,
            front: false,
        }
    }
}

impl<D: Drain> Drain for Counting<D> {
    type Ok = D::Ok;
    type Err = D::Err;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<D::Ok, D::Err> {
        if self.front {
            self.queued.add();
        }
        let logged = self.inner.log(record, values);
        // A record the queue refused never reaches the log thread, so nothing there will
        // count it done.
        if !self.front || logged.is_err() {
            self.queued.done();
        }
        logged
    }
}

/// The writer under the JSON drain: buffers, and writes out at the end of a record only
/// when no other record is queued.
pub struct Batched<W: Write> {
    out: BufWriter<W>,
    queued: Queued,
}

impl<W: Write> Batched<W> {
    pub fn new(out: W, queued: Queued) -> Self {
        Self {
            out: BufWriter::with_capacity(BUFFER_BYTES, out),
            queued,
        }
    }
}

impl<W: Write> Write for Batched<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }

    /// The end of a record (slog-json flushes after each one).
    fn flush(&mut self) -> io::Result<()> {
        if self.queued.only_one() {
            self.out.flush()
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A writer that keeps every `write` call it gets, separately.
    #[derive(Clone, Default)]
    struct Calls(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Calls {
        fn taken(&self) -> Vec<String> {
            let calls = self.0.lock().unwrap();
            calls
                .iter()
                .map(|c| String::from_utf8(c.clone()).unwrap())
                .collect()
        }
    }

    /// A count, a writer that keeps its calls, and a [`Batched`] on both.
    fn batched() -> (Queued, Calls, Batched<Calls>) {
        let queued = Queued::default();
        let calls = Calls::default();
        let out = Batched::new(calls.clone(), queued.clone());
        (queued, calls, out)
    }

    /// Writes one record the way the log thread does: its bytes, the end-of-record flush,
    /// then the count of records done.
    fn record(out: &mut Batched<Calls>, queued: &Queued, line: &str) {
        out.write_all(line.as_bytes()).unwrap();
        out.flush().unwrap();
        queued.done();
    }

    #[test]
    fn a_burst_is_written_in_one_call_once_the_last_record_ends() {
        let (queued, calls, mut out) = batched();
        for _ in 0..3 {
            queued.add();
        }
        record(&mut out, &queued, "a\n");
        record(&mut out, &queued, "b\n");
        assert!(calls.taken().is_empty(), "written before the burst ended");
        record(&mut out, &queued, "c\n");
        assert_eq!(calls.taken(), ["a\nb\nc\n"]);
    }

    #[test]
    fn a_lone_record_is_written_at_its_end() {
        let (queued, calls, mut out) = batched();
        queued.add();
        record(&mut out, &queued, "one\n");
        queued.add();
        record(&mut out, &queued, "two\n");
        assert_eq!(calls.taken(), ["one\n", "two\n"]);
    }

    #[test]
    fn a_record_queued_mid_burst_ends_it() {
        let (queued, calls, mut out) = batched();
        queued.add();
        queued.add();
        record(&mut out, &queued, "a\n");
        // Queued while "b" is being written: "b" is no longer the last.
        queued.add();
        record(&mut out, &queued, "b\n");
        assert!(calls.taken().is_empty());
        record(&mut out, &queued, "c\n");
        assert_eq!(calls.taken(), ["a\nb\nc\n"]);
    }

    /// The whole chain as the server builds it, through the real async drain: every line
    /// arrives, in order, while the guard is still held.
    #[test]
    fn lines_reach_the_writer_without_waiting_for_shutdown() {
        let calls = Calls::default();
        let (log, guard) =
            crate::telemetry::logger_to(calls.clone(), crate::config::LogLevel::Info);
        for i in 0..500 {
            slog::info!(log, "line"; "n" => i);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let lines = loop {
            let text = calls.taken().concat();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() >= 500 || std::time::Instant::now() > deadline {
                break lines;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert_eq!(
            lines.len(),
            500,
            "lines written before the guard was dropped"
        );
        for (i, line) in lines.iter().enumerate() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["n"], i, "line {i} out of order: {line}");
        }
        // 500 lines logged back to back outrun the log thread: some were written together.
        assert!(
            calls.taken().len() < 500,
            "one write per line: {}",
            calls.taken().len()
        );
        drop(guard);
    }

    /// A failed record (here: the queue is gone) is not left counted, so the records
    /// after it are still written out at their end.
    #[test]
    fn a_record_that_never_reaches_the_queue_is_not_counted() {
        struct Refuses;
        impl Drain for Refuses {
            type Ok = ();
            type Err = io::Error;
            fn log(&self, _: &Record<'_>, _: &OwnedKVList) -> io::Result<()> {
                Err(io::Error::other("queue gone"))
            }
        }
        let queued = Queued::default();
        let front = Counting::front(Refuses, queued.clone());
        let log = slog::Logger::root(front.ignore_res(), slog::o!());
        slog::info!(log, "lost");
        assert!(queued.only_one());
        assert_eq!(queued.0.load(Ordering::Acquire), 0);
    }
}
