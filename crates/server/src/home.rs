//! `GET /`: a plain server-rendered status page (no JavaScript), so the demo URL shows the
//! log at a glance until the full UI (issue 8) lands.

use axum::extract::State;
use axum::response::Html;

use crate::api::AppState;

pub(crate) async fn home(State(s): State<AppState>) -> Html<String> {
    let ledger = &s.node.ledger;
    let checkpoint = ledger
        .latest_checkpoint()
        .map(|c| c.note)
        .unwrap_or_else(|| "(no checkpoint yet)".into());
    let db = s.node.db.clone();
    let sources = tokio::task::spawn_blocking(move || db.sources())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let rows: String = sources
        .iter()
        .map(|src| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><code>POST /api/v1/ingest/{}</code></td></tr>",
                escape(src.name.as_str()),
                escape(src.format.as_str()),
                escape(src.name.as_str())
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evident — {origin}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
pre{{background:#f4f4f4;padding:1rem;overflow-x:auto}}table{{border-collapse:collapse}}
td,th{{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><main>
<h1>Evident</h1>
<p>Tamper-evident log <strong>{origin}</strong> holds <strong>{size}</strong> entries.</p>
<h2>Latest signed checkpoint</h2>
<pre>{checkpoint}</pre>
<h2>Verifier key</h2>
<pre>{vkey}</pre>
<p>Anyone can check the log with standard C2SP tools: <a href="/log/checkpoint">/log/checkpoint</a>,
hash tiles under <code>/log/tile/</code>. Health: <a href="/healthz">/healthz</a>.</p>
<h2>Sources</h2>
<table><thead><tr><th scope="col">Name</th><th scope="col">Format</th><th scope="col">Ingest endpoint</th></tr></thead>
<tbody>{rows}</tbody></table>
</main></body></html>
"#,
        origin = escape(&s.node.config.origin),
        size = ledger.size(),
        checkpoint = escape(&checkpoint),
        vkey = escape(&ledger.verifier().to_string()),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
