//! A compiled load generator for `bench/serve.py --loadgen` (a benchmark tool, not a test).
//!
//! `serve_load PORT TOKEN CLIENTS SECONDS RATE`: CLIENTS keep-alive connections to
//! `http://127.0.0.1:PORT/` ask for credentials for SECONDS (at most 600), paced to RATE
//! requests/s in all (0: as fast as they can). Every answer is checked: status 200 and an
//! `Expiration` still in the future. One thread (a current-thread runtime), so that on a
//! 2-core machine the server keeps a core to itself; the Python clients of bench/serve.py need
//! both cores and their own queueing, not the server, sets the latency they measure.
//!
//! Prints one JSON object: ok, failed, expired, keys (distinct AccessKeyIds), latency
//! percentiles in microseconds, and the first few errors.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest a request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read (the credentials JSON is well under 2 KiB).
const MAX_ANSWER: usize = 64 * 1024;
/// Errors kept for the report (the first ones; the count has them all).
const MAX_ERRORS: usize = 5;

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    expired: u64,
    keys: BTreeSet<String>,
    /// Microseconds, one per answered request.
    latencies: Vec<u32>,
    errors: Vec<String>,
}

impl Tally {
    fn fail(&mut self, error: String) {
        self.failed += 1;
        self.keep_error(error);
    }

    fn keep_error(&mut self, error: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(error);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.expired += other.expired;
        self.keys.extend(other.keys);
        self.latencies.extend(other.latencies);
        for error in other.errors {
            self.keep_error(error);
        }
    }
}

/// One answer: status line, headers, and a body of Content-Length bytes.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, Vec<u8>), String> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_ANSWER {
            return Err("answer head too large".into());
        }
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|e| e.to_string())?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {:?}", head.lines().next()))?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or("no content-length")?;
    if length > MAX_ANSWER {
        return Err("answer body too large".into());
    }
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed mid-body".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, buf[head_end..head_end + length].to_vec()))
}

async fn client(
    port: u16,
    request: std::sync::Arc<Vec<u8>>,
    deadline: Instant,
    interval: Option<Duration>,
) -> Tally {
    let mut tally = Tally::default();
    let mut buf = Vec::with_capacity(4096);
    let mut stream = match TcpStream::connect(("127.0.0.1", port)).await {
        Ok(stream) => stream,
        Err(err) => {
            tally.fail(format!("connect: {err}"));
            return tally;
        }
    };
    let _ = stream.set_nodelay(true);
    // Paced clients start at spread-out offsets and send every `interval`.
    let mut next = Instant::now()
        + interval.map_or(Duration::ZERO, |i| i.mul_f64(rand_fraction(port, &request)));
    while Instant::now() < deadline {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next.into()).await;
            next += interval;
        }
        let started = Instant::now();
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
            stream
                .write_all(&request)
                .await
                .map_err(|e| e.to_string())?;
            read_answer(&mut stream, &mut buf).await
        })
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(err) => {
                tally.fail(err);
                match TcpStream::connect(("127.0.0.1", port)).await {
                    Ok(fresh) => stream = fresh,
                    Err(err) => {
                        tally.fail(format!("reconnect: {err}"));
                        return tally;
                    }
                }
                continue;
            }
        };
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        tally.latencies.push(micros);
        if status != 200 {
            tally.fail(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ));
            continue;
        }
        let doc: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(doc) => doc,
            Err(err) => {
                tally.fail(format!("not JSON: {err}"));
                continue;
            }
        };
        let expiration = doc["Expiration"]
            .as_str()
            .and_then(aws_cred::base::time::parse_time);
        match expiration {
            Some(at) if at > SystemTime::now() => {}
            _ => tally.expired += 1,
        }
        if let Some(key) = doc["AccessKeyId"].as_str()
            && !tally.keys.contains(key)
        {
            tally.keys.insert(key.to_string());
        }
        tally.ok += 1;
    }
    tally
}

/// A fraction in [0, 1) that differs between clients (the address of their request buffer
/// clone differs), without a random-number dependency.
fn rand_fraction(port: u16, request: &std::sync::Arc<Vec<u8>>) -> f64 {
    let seed = (std::sync::Arc::as_ptr(request) as u64) ^ u64::from(port) ^ nanos();
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    (mixed % 1_000_000) as f64 / 1_000_000.0
}

fn nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
}

fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    let last = sorted.len().checked_sub(1)?;
    sorted
        .get(((p * sorted.len() as f64) as usize).min(last))
        .copied()
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, token, clients, seconds, rate] = args.as_slice() else {
        return Err("usage: serve_load PORT TOKEN CLIENTS SECONDS RATE".into());
    };
    let port: u16 = port.parse().map_err(|e| format!("PORT: {e}"))?;
    let clients: usize = clients
        .parse::<usize>()
        .map_err(|e| format!("CLIENTS: {e}"))?
        .clamp(1, 2000);
    let seconds: f64 = seconds
        .parse::<f64>()
        .map_err(|e| format!("SECONDS: {e}"))?
        .clamp(0.1, 600.0);
    let rate: f64 = rate.parse().map_err(|e| format!("RATE: {e}"))?;
    let interval = (rate > 0.0).then(|| Duration::from_secs_f64(clients as f64 / rate));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let total = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let request =
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {token}\r\n\r\n")
                .into_bytes();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                tokio::spawn(client(
                    port,
                    std::sync::Arc::new(request.clone()),
                    deadline,
                    interval,
                ))
            })
            .collect();
        let mut total = Tally::default();
        for task in tasks {
            match task.await {
                Ok(tally) => total.merge(tally),
                Err(err) => total.fail(format!("client task: {err}")),
            }
        }
        total
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = total.latencies;
    latencies.sort_unstable();
    let mean = if latencies.is_empty() {
        None
    } else {
        Some(latencies.iter().map(|l| f64::from(*l)).sum::<f64>() / latencies.len() as f64)
    };
    let summary = serde_json::json!({
        "ok": total.ok,
        "failed": total.failed,
        "expired": total.expired,
        "keys": total.keys,
        "elapsed_s": elapsed,
        "p50_us": percentile(&latencies, 0.50),
        "p99_us": percentile(&latencies, 0.99),
        "p999_us": percentile(&latencies, 0.999),
        "max_us": latencies.last(),
        "mean_us": mean,
        "errors": total.errors,
    });
    println!("{summary}");
    Ok(())
}
