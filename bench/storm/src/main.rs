//! The booking storm's load generator: one booking attempt per resident token, all fired at
//! once, half through each of two instances.
//!
//! Usage: canyu-storm HOST PATH BODY_FILE OUT_JSON PORT_A TOKENS_A PORT_B TOKENS_B
//!
//! Opens one connection per token first (so the storm measures the service, not TCP set-up),
//! then writes every request at once and times each from its write to the end of its answer.
//! Each connection carries one request and closes (`Connection: close`), so the end of the
//! answer is the end of the stream. Writes {"statuses": {code: n}, "latencies_ms": [...],
//! "status_of_each": [...], "written_at_ms": [...]}: each attempt's status, and when its
//! request was written, counted from the release of the first (on two shared cores the
//! client takes a while to write them all), and the wall-clock time of that release
//! ("released_at_unix_ms"), to line the storm up with what else the machine recorded, and
//! the client's own CPU time ("cpu_ticks": user, kernel). An attempt without an answer counts
//! as status 0.
//!
//! In Rust rather than a script: on a 2-core machine the generator shares the cores with both
//! instances, and an interpreter's own time per attempt would be measured as the service's.

use std::{
    collections::BTreeMap,
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{Barrier, Semaphore},
    time::Instant,
};

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [
        host,
        path,
        body_file,
        out,
        port_a,
        tokens_a,
        port_b,
        tokens_b,
    ] = &args[..]
    else {
        return Err(
            "usage: canyu-storm HOST PATH BODY_FILE OUT_JSON PORT_A TOKENS_A PORT_B TOKENS_B"
                .into(),
        );
    };
    let body = std::fs::read(body_file)?;
    let mut attempts = Vec::new();
    for (port, tokens) in [(port_a, tokens_a), (port_b, tokens_b)] {
        let port: u16 = port.parse()?;
        for token in std::fs::read_to_string(tokens)?.split_whitespace() {
            let i = attempts.len();
            let mut request = format!(
                "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nIdempotency-Key: storm-{i}\r\n\
                 Connection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            request.extend_from_slice(&body);
            attempts.push((format!("{host}:{port}"), request));
        }
    }

    // Connect everyone first, a few hundred at a time (a listen backlog is finite).
    let connecting = Arc::new(Semaphore::new(200));
    let go = Arc::new(Barrier::new(attempts.len()));
    let released = Arc::new(OnceLock::new());
    let released_wall = Arc::new(OnceLock::new());
    let mut tasks = Vec::with_capacity(attempts.len());
    for (addr, request) in attempts {
        let (connecting, go, released, released_wall) = (
            connecting.clone(),
            go.clone(),
            released.clone(),
            released_wall.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let stream = {
                let _permit = connecting.acquire().await;
                connect(&addr).await
            };
            go.wait().await;
            let t0 = *released.get_or_init(|| {
                released_wall.get_or_init(SystemTime::now);
                Instant::now()
            });
            let Some(mut stream) = stream else {
                return (0, 0.0, 0.0);
            };
            let started = Instant::now();
            let status =
                tokio::time::timeout(Duration::from_secs(30), exchange(&mut stream, &request))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(0);
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            (status, ms(started.elapsed()), ms(started - t0))
        }));
    }
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut each = Vec::with_capacity(tasks.len());
    let mut written_at = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (status, ms, at) = task.await?;
        *statuses.entry(status.to_string()).or_default() += 1;
        latencies.push(ms);
        each.push(status);
        written_at.push(at);
    }
    let report = serde_json::json!({
        "statuses": statuses,
        "latencies_ms": latencies,
        "status_of_each": each,
        "written_at_ms": written_at,
        "released_at_unix_ms": released_wall
            .get()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64() * 1000.0),
        "cpu_ticks": own_cpu_ticks(),
    });
    std::fs::write(out, serde_json::to_vec(&report)?)?;
    Ok(())
}

/// This process's CPU time so far, [user, kernel] in clock ticks (Linux's /proc): the client
/// shares the machine's cores with what it measures, and its share is reported beside theirs.
fn own_cpu_ticks() -> Option<[u64; 2]> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let mut fields = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .skip(11);
    Some([fields.next()?.parse().ok()?, fields.next()?.parse().ok()?])
}

async fn connect(addr: &str) -> Option<TcpStream> {
    for attempt in 1..=5u64 {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true).ok()?;
                return Some(stream);
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50 * attempt)).await,
        }
    }
    None
}

/// Writes the request and reads the answer to its end; the status code, or `None` when no
/// complete status line came back.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> Option<u16> {
    stream.write_all(request).await.ok()?;
    let mut answer = Vec::with_capacity(1024);
    stream.read_to_end(&mut answer).await.ok()?;
    let line = answer.split(|&b| b == b'\r').next()?;
    let status = std::str::from_utf8(line).ok()?.split(' ').nth(1)?;
    status.parse().ok()
}
