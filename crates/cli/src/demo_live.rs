//! The demo's live day: while the demo serves, the company keeps working. The next day of its
//! activity is generated up front and each record is shipped as its time comes, the way
//! production shippers would send it: app logs through Splunk HEC, OS logs (auth.log,
//! the firewall's kernel log) over syslog TCP when a syslog listener is configured, and
//! every other source through the HTTP ingest API. So the month on screen keeps growing
//! through the real receivers, and the sources page shows them live.

use std::collections::HashMap;
use std::time::Duration;

use evident_demo::Demo;
use tokio::io::AsyncWriteExt as _;

/// How a source's records travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// `POST /services/collector/event`, one HEC envelope per record.
    Hec,
    /// RFC 5424 over TCP with octet counting.
    Syslog,
    /// `POST /api/v1/ingest/{source}`, NDJSON or lines.
    Http,
}

/// One record due at `at_ms`.
struct Due {
    at_ms: i64,
    source: usize,
    record: Vec<u8>,
}

/// Ships `day` (records of the coming day) to the server at `http` (and `syslog`, when
/// set) as their times come; runs until the process ends.
pub(crate) async fn ship(
    day: Demo,
    tokens: HashMap<String, String>,
    http: std::net::SocketAddr,
    syslog: Option<std::net::SocketAddr>,
) {
    let routes: Vec<Route> = day
        .sources
        .iter()
        .map(|s| match (s.format, syslog) {
            ("json", _) => Route::Hec,
            ("authlog" | "netfilter", Some(_)) => Route::Syslog,
            _ => Route::Http,
        })
        .collect();
    let mut due: Vec<Due> = day
        .sources
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.times_ms.iter().zip(&s.records).map(move |(t, r)| Due {
                at_ms: *t,
                source: i,
                record: r.clone(),
            })
        })
        .collect();
    due.sort_by_key(|d| d.at_ms);
    let client = reqwest::Client::new();
    let mut syslog_stream = None;
    let mut next = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = chrono::Utc::now().timestamp_millis();
        let end = due[next..].partition_point(|d| d.at_ms <= now) + next;
        if end == next {
            if next == due.len() {
                return;
            }
            continue;
        }
        let mut by_source: HashMap<usize, Vec<&[u8]>> = HashMap::new();
        for d in &due[next..end] {
            by_source.entry(d.source).or_default().push(&d.record);
        }
        next = end;
        for (i, records) in by_source {
            let source = &day.sources[i];
            let Some(token) = tokens.get(source.name) else {
                continue;
            };
            let sent = match routes[i] {
                Route::Hec => send_hec(&client, http, token, &records).await,
                Route::Http => send_http(&client, http, source.name, token, &records).await,
                Route::Syslog => match syslog {
                    // authpriv.info for auth.log, kern.warning for the firewall.
                    Some(addr) => {
                        let pri = if source.format == "netfilter" { 4 } else { 86 };
                        send_syslog(&mut syslog_stream, addr, pri, &records).await
                    }
                    None => Ok(()),
                },
            };
            if let Err(e) = sent {
                tracing::warn!(source = source.name, error = %e, "demo live shipping failed");
            }
        }
    }
}

async fn send_hec(
    client: &reqwest::Client,
    http: std::net::SocketAddr,
    token: &str,
    records: &[&[u8]],
) -> Result<(), String> {
    let mut body = Vec::new();
    for r in records {
        let event: serde_json::Value = serde_json::from_slice(r).map_err(|e| e.to_string())?;
        body.extend(
            serde_json::json!({"event": event, "sourcetype": "_json", "host": "app-1"})
                .to_string()
                .into_bytes(),
        );
    }
    post(
        client.post(format!("http://{http}/services/collector/event")),
        &format!("Splunk {token}"),
        body,
    )
    .await
}

async fn send_http(
    client: &reqwest::Client,
    http: std::net::SocketAddr,
    source: &str,
    token: &str,
    records: &[&[u8]],
) -> Result<(), String> {
    post(
        client.post(format!("http://{http}/api/v1/ingest/{source}")),
        &format!("Bearer {token}"),
        records.join(&b'\n'),
    )
    .await
}

async fn post(req: reqwest::RequestBuilder, auth: &str, body: Vec<u8>) -> Result<(), String> {
    let resp = req
        .header("Authorization", auth)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", resp.status()))
    }
}

/// Sends each line as rsyslog forwards a local log line (RFC 3164: `<PRI>` + the line,
/// whose timestamp, host and program are the traditional header) in RFC 6587
/// octet-counting framing, reconnecting when needed. `pri` is the facility·8 + severity,
/// for lines that do not carry one.
async fn send_syslog(
    stream: &mut Option<tokio::net::TcpStream>,
    addr: std::net::SocketAddr,
    pri: u8,
    records: &[&[u8]],
) -> Result<(), String> {
    let mut frames = Vec::new();
    for r in records {
        let line = String::from_utf8_lossy(r);
        // Some generated lines (the kernel's) already carry their priority.
        let msg = if line.starts_with('<') {
            line.into_owned()
        } else {
            format!("<{pri}>{line}")
        };
        frames.extend(format!("{} {msg}", msg.len()).into_bytes());
    }
    if stream.is_none() {
        *stream = Some(
            tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let Some(s) = stream.as_mut() else {
        return Ok(());
    };
    if let Err(e) = s.write_all(&frames).await {
        *stream = None;
        return Err(e.to_string());
    }
    Ok(())
}
