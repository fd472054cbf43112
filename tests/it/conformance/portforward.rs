//! Port-forward over WebSocket, which the traces do not record: the fake's
//! frames are held to the kubelet's handler instead
//! (kubernetes/kubernetes pkg/kubelet/cri/streaming/portforward/websocket.go,
//! `handleWebSocketStreams`):
//!
//! - subprotocol `v4.channel.k8s.io` (binary), or none at all;
//! - per requested port `i`, a data channel `2i` and an error channel
//!   `2i+1`; every message starts with its channel byte;
//! - the first message on each channel is the port as an unsigned 16-bit
//!   little-endian integer, data channel first;
//! - a port the pod does not listen on gets "error forwarding port P to pod
//!   SANDBOX, uid : ..." on its error channel, and once every port's
//!   forward has ended the connection closes.
//!
//! scaffold's client (src/k8s/portforward.rs) is tested against these
//! frames in tests/it/forward.rs.

use super::wire::{Auth, Request, WebSocket};
use super::wire_for;
use fakecluster::{FakeCluster, Options};
use serde_json::json;
use std::io::{Read, Write};
use std::time::Duration;

fn upgrade<'a>(path: &'a str, protocols: &[&str]) -> Request<'a> {
    let mut headers = vec![
        ("Connection".to_string(), "Upgrade".to_string()),
        ("Upgrade".to_string(), "websocket".to_string()),
        ("Sec-WebSocket-Version".to_string(), "13".to_string()),
        ("Sec-WebSocket-Key".to_string(), "x".to_string()),
    ];
    if !protocols.is_empty() {
        headers.push(("Sec-WebSocket-Protocol".to_string(), protocols.join(", ")));
    }
    Request {
        method: "GET",
        path,
        headers,
        body: None,
        auth: Auth::Token,
    }
}

/// A local TCP echo server; its port.
fn echo_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut c = c;
                let mut buf = [0u8; 4096];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 || c.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// A port nobody listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fake_with_pod() -> FakeCluster {
    let fc = FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    });
    fc.seed(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}}))
        .unwrap();
    fc
}

fn next_binary(ws: &mut WebSocket) -> Vec<u8> {
    let f = ws
        .next_frame(Duration::from_secs(10))
        .expect("a frame within 10 s");
    assert_eq!(f.opcode, 2, "a binary message: {f:?}");
    assert!(!f.masked, "the server does not mask");
    f.payload
}

#[test]
fn port_forward_frames_are_the_kubelets() {
    let fc = fake_with_pod();
    let wire = wire_for(&fc);
    let (open, shut) = (echo_server(), closed_port());
    let path = format!("/api/v1/namespaces/default/pods/web/portforward?ports={open},{shut}");
    let mut ws = wire.websocket(&upgrade(&path, &["v4.channel.k8s.io"]));
    assert_eq!(ws.status, 101, "{}", String::from_utf8_lossy(&ws.body));
    assert_eq!(
        super::wire::header(&ws.headers, "sec-websocket-protocol"),
        Some("v4.channel.k8s.io")
    );
    // the port headers, data channel then error channel, port by port;
    // the refused port's error follows its headers
    let mut got = vec![];
    for _ in 0..5 {
        got.push(next_binary(&mut ws));
    }
    let (lo, hi) = (open.to_le_bytes(), shut.to_le_bytes());
    assert_eq!(got[0], vec![0, lo[0], lo[1]]);
    assert_eq!(got[1], vec![1, lo[0], lo[1]]);
    assert_eq!(got[2], vec![2, hi[0], hi[1]]);
    assert_eq!(got[3], vec![3, hi[0], hi[1]]);
    assert_eq!(
        got[4][0], 3,
        "the refused port's error on its error channel"
    );
    let msg = String::from_utf8_lossy(&got[4][1..]).to_string();
    let prefix = format!("error forwarding port {shut} to pod ");
    assert!(
        msg.starts_with(&prefix) && msg.contains(", uid : ") && msg.contains("connection refused"),
        "the kubelet's wording: {msg}"
    );
    // data on channel 0 reaches the pod's port; its answer comes back on 0
    ws.send_binary(b"\0hello");
    let back = next_binary(&mut ws);
    assert_eq!(back, b"\0hello".to_vec());
    fc.shutdown();
}

#[test]
fn port_forward_without_a_subprotocol_or_to_nothing() {
    let fc = fake_with_pod();
    let wire = wire_for(&fc);
    // a client naming no subprotocol is served, and no protocol is named back
    let port = echo_server();
    let path = format!("/api/v1/namespaces/default/pods/web/portforward?ports={port}");
    let mut ws = wire.websocket(&upgrade(&path, &[]));
    assert_eq!(ws.status, 101, "{}", String::from_utf8_lossy(&ws.body));
    assert_eq!(
        super::wire::header(&ws.headers, "sec-websocket-protocol"),
        None
    );
    assert_eq!(next_binary(&mut ws)[0], 0);
    // only SPDY's protocol: refused before the upgrade, naming what is spoken
    let ws = wire.websocket(&upgrade(&path, &["portforward.k8s.io"]));
    assert_eq!(ws.status, 400);
    assert!(
        String::from_utf8_lossy(&ws.body).contains("v4.channel.k8s.io"),
        "{}",
        String::from_utf8_lossy(&ws.body)
    );
    // every port refused: headers, the error, then the connection closes
    let shut = closed_port();
    let path = format!("/api/v1/namespaces/default/pods/web/portforward?ports={shut}");
    let mut ws = wire.websocket(&upgrade(&path, &["v4.channel.k8s.io"]));
    let frames = ws.frames(Duration::from_secs(10));
    let kinds: Vec<(u8, Option<u8>)> = frames
        .iter()
        .map(|f| (f.opcode, f.payload.first().copied()))
        .collect();
    assert_eq!(
        kinds,
        vec![(2, Some(0)), (2, Some(1)), (2, Some(1)), (8, Some(3))],
        "port headers, the error, a close (1000): {frames:?}"
    );
    // a pod that does not exist: 404 before the upgrade
    let ws = wire.websocket(&upgrade(
        "/api/v1/namespaces/default/pods/nope/portforward?ports=80",
        &["v4.channel.k8s.io"],
    ));
    assert_eq!(ws.status, 404);
    fc.shutdown();
}
