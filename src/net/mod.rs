//! Plain HTTP of scaffold itself (not the Kubernetes API): `http()`,
//! requests over a forwarded port (Prometheus), with proxies from the
//! environment as for the cluster (proxy.rs), and URLs shown without
//! their secrets. Prometheus's query API is prom.rs.

pub mod prom;
pub mod proxy;
pub mod remote_write;

use std::time::Duration;

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "password",
    "passwd",
    "pass",
    "secret",
    "client_secret",
    "key",
    "apikey",
    "api_key",
    "auth",
    "authorization",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "code",
];

/// A URL as it may be shown (in `-v`, errors, results): a password in
/// `user:password@` and the values of secret query parameters (`token`,
/// `password`, `api_key`, signatures, ...) become `***`.
pub fn redact_url(url: &str) -> String {
    let (before_q, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match before_q.split_once("://") {
        Some((scheme, rest)) => {
            let (auth, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let auth = match auth.rsplit_once('@') {
                Some((user, host)) => {
                    let user = user.split(':').next().unwrap_or("");
                    format!("{user}:***@{host}")
                }
                None => auth.to_string(),
            };
            format!("{scheme}://{auth}{path}")
        }
        None => before_q.to_string(),
    };
    if let Some(q) = query {
        let parts: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => {
                    format!("{k}=***")
                }
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&parts.join("&"));
    }
    out
}

/// An answer.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// One HTTP request (ureq; non-standard methods allowed). Errors name the
/// redacted URL.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<String>,
    timeout: Duration,
) -> Result<Answer, String> {
    let body = body.map(String::into_bytes).unwrap_or_default();
    request_bytes(method, url, headers, body, timeout)
}

/// `request` with a binary body (remote write's snappy protobuf).
pub fn request_bytes(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Answer, String> {
    let shown = redact_url(url);
    let proxy = proxy::for_url(url)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(proxy)
        .timeout_global(Some(timeout.max(Duration::from_millis(100))))
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("User-Agent", "scaffold");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(body)
        .map_err(|e| format!("{method} {shown}: {}", redact_text(&e.to_string(), url)))?;
    let resp = agent
        .run(req)
        .map_err(|e| format!("{method} {shown}: {}", redact_text(&e.to_string(), url)))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("{method} {shown}: reading the body: {e}"))?;
    Ok(Answer { status, body })
}

/// An error text with any copy of the URL in it redacted.
fn redact_text(text: &str, url: &str) -> String {
    text.replace(url, &redact_url(url))
}

/// GET over a forwarded port on this machine (Prometheus answers HTTP/1.0;
/// no proxy, no TLS): status and body.
pub async fn get_local(addr: std::net::SocketAddr, path: &str) -> Result<(u16, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let head =
        format!("GET {path} HTTP/1.0\r\nHost: localhost\r\nAccept: application/json\r\n\r\n");
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut buf))
        .await
        .map_err(|_| "no answer within 60 s".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed HTTP answer")?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_urls_are_redacted() {
        assert_eq!(
            redact_url("https://u:p4ss@h.example/x?a=1"),
            "https://u:***@h.example/x?a=1"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9091/m?token=abc&job=x&API_KEY=k"),
            "http://127.0.0.1:9091/m?token=***&job=x&API_KEY=***"
        );
        assert_eq!(
            redact_url("https://grafana.com/api/dashboards/1860"),
            "https://grafana.com/api/dashboards/1860"
        );
        assert_eq!(redact_url("https://tok@h/x"), "https://tok:***@h/x");
        assert_eq!(
            redact_text("error for https://u:pw@h/ now", "https://u:pw@h/"),
            "error for https://u:***@h/ now"
        );
    }
}
