//! A small HTTPS/1.1 and WebSocket client that sends exactly the bytes a
//! trace recorded (method, path, headers, body), so the fake answers the
//! same request the real API server did. Responses come back raw: status
//! line, headers, body (Content-Length or chunked), watch lines as they
//! arrive, WebSocket frames with their opcode and channel byte.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// How a request authenticates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Auth {
    /// the kubeconfig's bearer token
    Token,
    /// a bearer token the server does not know
    BadToken,
    /// no credentials at all
    Anonymous,
}

pub struct Wire {
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    token: String,
}

pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub auth: Auth,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A response whose body is read as it arrives (a watch).
pub struct Streaming {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<Tls>,
    chunked: bool,
    /// bytes of the current chunk still to read
    left: usize,
    pending: Vec<u8>,
    pub ended: bool,
}

/// One WebSocket frame as the server sent it.
#[derive(Debug, Clone)]
pub struct Frame {
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

pub struct WebSocket {
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    /// the body when the server refused the upgrade
    pub body: Vec<u8>,
    reader: Option<BufReader<Tls>>,
}

impl Wire {
    /// A client for `https://addr` trusting `ca_pem`, with `token` for [`Auth::Token`].
    pub fn new(addr: SocketAddr, ca_pem: &[u8], token: &str) -> Wire {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem) {
            let c: rustls::pki_types::CertificateDer = c.expect("CA certificate");
            roots.add(c).expect("CA certificate");
        }
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Wire {
            addr,
            tls: Arc::new(tls),
            token: token.to_string(),
        }
    }

    fn connect(&self) -> Tls {
        let tcp = TcpStream::connect(self.addr).expect("connect to the fake");
        tcp.set_nodelay(true).ok();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(self.tls.clone(), name).unwrap();
        rustls::StreamOwned::new(conn, tcp)
    }

    fn write_request(&self, s: &mut Tls, r: &Request, extra: &[(String, String)]) {
        let mut head = format!("{} {} HTTP/1.1\r\n", r.method, r.path);
        let mut names = vec![];
        for (k, v) in r.headers.iter().chain(extra) {
            let lk = k.to_ascii_lowercase();
            // the connection's own: this client sets them
            if ["host", "content-length", "authorization"].contains(&lk.as_str()) {
                continue;
            }
            names.push(lk);
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Host: {}\r\n", self.addr));
        match r.auth {
            Auth::Token => head.push_str(&format!("Authorization: Bearer {}\r\n", self.token)),
            Auth::BadToken => head.push_str("Authorization: Bearer not-a-token\r\n"),
            Auth::Anonymous => {}
        }
        if let Some(b) = &r.body {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        } else if ["POST", "PUT", "PATCH"].contains(&r.method) {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        if let Some(b) = &r.body {
            s.write_all(b).unwrap();
        }
        s.flush().unwrap();
    }

    /// Send a request and read the whole answer.
    pub fn send(&self, r: &Request) -> Response {
        let mut st = self.open(r);
        let mut body = vec![];
        while let Some(b) = st.read_some(Duration::from_secs(30)) {
            body.extend(b);
        }
        Response {
            status: st.status,
            headers: st.headers,
            body,
        }
    }

    /// Send a request and return once the head of the answer is there.
    pub fn open(&self, r: &Request) -> Streaming {
        let mut s = self.connect();
        self.write_request(&mut s, r, &[]);
        let mut reader = BufReader::new(s);
        let (status, _, headers) = read_head(&mut reader);
        let chunked = header(&headers, "transfer-encoding").is_some_and(|v| v.contains("chunked"));
        let left = header(&headers, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Streaming {
            status,
            ended: !chunked && left == 0,
            headers,
            reader,
            chunked,
            left,
            pending: vec![],
        }
    }

    /// A WebSocket handshake (the request's own Upgrade headers, a fresh
    /// key), then the frames.
    pub fn websocket(&self, r: &Request) -> WebSocket {
        let mut s = self.connect();
        let headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("sec-websocket-key") {
                    (k.clone(), "dGhlIHNhbXBsZSBub25jZQ==".to_string())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        let req = Request {
            method: r.method,
            path: r.path,
            headers,
            body: r.body.clone(),
            auth: r.auth,
        };
        self.write_request(&mut s, &req, &[]);
        let mut reader = BufReader::new(s);
        let (status, status_line, headers) = read_head(&mut reader);
        if status == 101 {
            return WebSocket {
                status,
                status_line,
                headers,
                body: vec![],
                reader: Some(reader),
            };
        }
        let mut st = Streaming {
            status,
            chunked: header(&headers, "transfer-encoding").is_some_and(|v| v.contains("chunked")),
            left: header(&headers, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            ended: false,
            headers: headers.clone(),
            reader,
            pending: vec![],
        };
        if !st.chunked && st.left == 0 {
            st.ended = true;
        }
        let mut body = vec![];
        while let Some(b) = st.read_some(Duration::from_secs(10)) {
            body.extend(b);
        }
        WebSocket {
            status,
            status_line,
            headers,
            body,
            reader: None,
        }
    }
}

fn read_head(r: &mut BufReader<Tls>) -> (u16, String, Vec<(String, String)>) {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status_line = line.trim_end().to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut headers = vec![];
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header line");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (status, status_line, headers)
}

impl Streaming {
    fn set_timeout(&mut self, t: Duration) {
        let _ = self
            .reader
            .get_ref()
            .sock
            .set_read_timeout(Some(t.max(Duration::from_millis(1))));
    }

    /// The next bytes of the body, waiting at most `wait`; None at its end
    /// (or when nothing came in time: then `ended` stays false).
    pub fn read_some(&mut self, wait: Duration) -> Option<Vec<u8>> {
        if self.ended {
            return None;
        }
        self.set_timeout(wait);
        if !self.chunked {
            let mut buf = vec![0u8; self.left.min(64 * 1024)];
            return match self.reader.read(&mut buf) {
                Ok(0) => {
                    self.ended = true;
                    None
                }
                Ok(n) => {
                    self.left -= n;
                    if self.left == 0 {
                        self.ended = true;
                    }
                    buf.truncate(n);
                    Some(buf)
                }
                Err(e) if is_timeout(&e) => None,
                Err(_) => {
                    self.ended = true;
                    None
                }
            };
        }
        if self.left == 0 {
            let mut size = String::new();
            match self.reader.read_line(&mut size) {
                Ok(0) => {
                    self.ended = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return None,
                Err(_) => {
                    self.ended = true;
                    return None;
                }
            }
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                let _ = self.reader.read_line(&mut end);
                self.ended = true;
                return None;
            }
            self.left = n;
        }
        self.set_timeout(Duration::from_secs(10));
        let mut buf = vec![0u8; self.left];
        match self.reader.read_exact(&mut buf) {
            Ok(()) => {
                self.left = 0;
                let mut crlf = [0u8; 2];
                let _ = self.reader.read_exact(&mut crlf);
                Some(buf)
            }
            Err(_) => {
                self.ended = true;
                None
            }
        }
    }

    /// The next complete line of the body within `wait`.
    pub fn next_line(&mut self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            let now = Instant::now();
            if now >= deadline || self.ended {
                return None;
            }
            if let Some(b) = self.read_some(deadline - now) {
                self.pending.extend(b);
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

impl WebSocket {
    /// Every frame up to and including the close frame (answered with a
    /// close of our own), or what came within `limit`.
    pub fn frames(&mut self, limit: Duration) -> Vec<Frame> {
        let deadline = Instant::now() + limit;
        let mut out = vec![];
        while let Some(f) = self.next_frame(deadline.saturating_duration_since(Instant::now())) {
            let close = f.opcode == 8;
            out.push(f);
            if close {
                break;
            }
        }
        out
    }

    /// The next frame within `wait` (a close is answered with ours).
    pub fn next_frame(&mut self, wait: Duration) -> Option<Frame> {
        let r = self.reader.as_mut()?;
        if wait.is_zero() {
            return None;
        }
        let _ = r.get_ref().sock.set_read_timeout(Some(wait));
        let mut h = [0u8; 2];
        r.read_exact(&mut h).ok()?;
        let _ = r
            .get_ref()
            .sock
            .set_read_timeout(Some(Duration::from_secs(10)));
        let opcode = h[0] & 0x0f;
        let masked = h[1] & 0x80 != 0;
        let mut len = (h[1] & 0x7f) as u64;
        if len == 126 {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).unwrap();
            len = u16::from_be_bytes(b) as u64;
        } else if len == 127 {
            let mut b = [0u8; 8];
            r.read_exact(&mut b).unwrap();
            len = u64::from_be_bytes(b);
        }
        let mut mask = [0u8; 4];
        if masked {
            r.read_exact(&mut mask).unwrap();
        }
        let mut payload = vec![0u8; len as usize];
        r.read_exact(&mut payload).unwrap();
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        if opcode == 8 {
            // answer the close (status 1000)
            self.send(8, &[0x03, 0xe8]);
        }
        Some(Frame {
            opcode,
            masked,
            payload,
        })
    }

    /// Send one binary message, masked as a client must.
    pub fn send_binary(&mut self, payload: &[u8]) {
        self.send(2, payload);
    }

    fn send(&mut self, opcode: u8, payload: &[u8]) {
        let Some(r) = self.reader.as_mut() else {
            return;
        };
        let mask = [1u8, 2, 3, 4];
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= u16::MAX as usize => {
                f.push(0x80 | 126);
                f.extend((n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend((n as u64).to_be_bytes());
            }
        }
        f.extend(mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let s = r.get_mut();
        let _ = s.write_all(&f);
        let _ = s.flush();
    }
}
