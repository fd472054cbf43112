//! A forward proxy for tests and benchmarks of scaffold's proxy support
//! (HTTP CONNECT and SOCKS5), on 127.0.0.1, threads and blocking sockets.

/// A forward proxy on 127.0.0.1 for tests and benchmarks: HTTP CONNECT or SOCKS5. Every
/// tunnel goes to 127.0.0.1 on the requested port, whatever host was asked
/// for (so a kubeconfig can name a host only the proxy "resolves"). `seen`
/// keeps one line per tunnel: `CONNECT host:port auth` or
/// `SOCKS5 host:port user:password`.
pub struct Proxy {
    pub port: u16,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Proxy {
    pub fn http() -> Self {
        Self::start(false)
    }

    pub fn socks5() -> Self {
        Self::start(true)
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn start(socks: bool) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let kept = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(c) = conn else { continue };
                let kept = kept.clone();
                std::thread::spawn(move || {
                    let r = if socks {
                        socks5_handshake(c)
                    } else {
                        connect_handshake(c)
                    };
                    if let Ok((c, line, upstream)) = r {
                        // like a proxy that adds no delay of its own
                        let _ = c.set_nodelay(true);
                        let _ = upstream.set_nodelay(true);
                        kept.lock().unwrap().push(line);
                        splice(c, upstream);
                    }
                });
            }
        });
        Proxy { port, seen }
    }
}

type Handshake = std::io::Result<(std::net::TcpStream, String, std::net::TcpStream)>;

fn connect_handshake(mut c: std::net::TcpStream) -> Handshake {
    use std::io::{Read, Write};
    let mut head = vec![];
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if c.read(&mut b)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let auth = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("proxy-authorization")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| "-".into());
    let port = target.rsplit(':').next().unwrap_or("0");
    let upstream = std::net::TcpStream::connect(format!("127.0.0.1:{port}"))?;
    c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    Ok((c, format!("CONNECT {target} {auth}"), upstream))
}

fn socks5_handshake(mut c: std::net::TcpStream) -> Handshake {
    use std::io::{Read, Write};
    let read = |n: usize, c: &mut std::net::TcpStream| -> std::io::Result<Vec<u8>> {
        let mut v = vec![0u8; n];
        c.read_exact(&mut v)?;
        Ok(v)
    };
    let greet = read(2, &mut c)?;
    let methods = read(greet[1] as usize, &mut c)?;
    let mut user = "-".to_string();
    if methods.contains(&2) {
        c.write_all(&[5, 2])?;
        let v = read(2, &mut c)?;
        let name = read(v[1] as usize, &mut c)?;
        let plen = read(1, &mut c)?;
        let pass = read(plen[0] as usize, &mut c)?;
        user = format!(
            "{}:{}",
            String::from_utf8_lossy(&name),
            String::from_utf8_lossy(&pass)
        );
        c.write_all(&[1, 0])?;
    } else {
        c.write_all(&[5, 0])?;
    }
    let req = read(4, &mut c)?;
    let host = match req[3] {
        1 => read(4, &mut c)?
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join("."),
        3 => {
            let n = read(1, &mut c)?;
            String::from_utf8_lossy(&read(n[0] as usize, &mut c)?).to_string()
        }
        _ => return Err(std::io::ErrorKind::Unsupported.into()),
    };
    let p = read(2, &mut c)?;
    let port = u16::from_be_bytes([p[0], p[1]]);
    let upstream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, p[0], p[1]])?;
    Ok((c, format!("SOCKS5 {host}:{port} {user}"), upstream))
}

/// Copy both ways until either side closes.
fn splice(a: std::net::TcpStream, b: std::net::TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (mut a, mut b) = (a, b);
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}
