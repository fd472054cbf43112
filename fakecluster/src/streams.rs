//! Streaming subresources: `pods/log` (follow), and over WebSocket
//! (`v5.channel.k8s.io`, `v4.channel.k8s.io`) `pods/exec`, `pods/attach` and
//! `pods/portforward` in the framing kube-rs uses.

use crate::http::{error_response, tokio_stream_from, Body, Query};
use crate::kubelet::{CState, ContainerRt, PodRt};
use crate::shared::Shared;
use crate::store::ApiError;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

fn pod_and_container(
    sh: &Shared,
    ns: &str,
    name: &str,
    container: Option<&str>,
) -> Result<(Arc<PodRt>, Arc<ContainerRt>), ApiError> {
    let pk = sh.store.kind("", "Pod").unwrap();
    let pod = sh
        .store
        .get(&pk, ns, name)
        .ok_or_else(|| ApiError::not_found(&pk, name))?;
    let names: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let cname = match container.filter(|c| !c.is_empty()) {
        Some(c) => {
            if !names.iter().any(|n| n == c) {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    format!("container {c} is not valid for pod {name}"),
                ));
            }
            c.to_string()
        }
        None if names.len() == 1 => names[0].clone(),
        None => {
            return Err(ApiError::new(
                400,
                "BadRequest",
                format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    names.join(" ")
                ),
            ))
        }
    };
    let rt = sh.kubelet.pod(ns, name).ok_or_else(|| {
        ApiError::new(
            400,
            "BadRequest",
            format!("pod {name} is not running on a node yet"),
        )
    })?;
    let c = rt
        .containers
        .lock()
        .unwrap()
        .iter()
        .find(|c| c.name == cname)
        .cloned();
    let c = c.ok_or_else(|| {
        ApiError::new(
            400,
            "BadRequest",
            format!("container {cname} is not started yet in pod {name}"),
        )
    })?;
    Ok((rt, c))
}

/// `GET pods/NAME/log`
pub async fn logs(sh: Arc<Shared>, ns: &str, name: &str, q: &Query) -> Response<Body> {
    let (_, c) = match pod_and_container(&sh, ns, name, q.get("container")) {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    let follow = q.flag("follow");
    let timestamps = q.flag("timestamps");
    let since = q
        .get("sinceSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| SystemTime::now() - Duration::from_secs(s));
    let tail = q.get("tailLines").and_then(|s| s.parse::<usize>().ok());
    let fmt = move |t: SystemTime, b: &Bytes| -> Bytes {
        if timestamps {
            let mut out = Vec::new();
            for line in b.split_inclusive(|x| *x == b'\n') {
                out.extend_from_slice(crate::store::rfc3339(t).as_bytes());
                out.push(b' ');
                out.extend_from_slice(line);
            }
            Bytes::from(out)
        } else {
            b.clone()
        }
    };
    // the current run of the container, or (previous=true) the one before
    let (run, range) = match log_run(&c, name, q.flag("previous")) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let follow = follow && run > 0;
    let snapshot: Vec<(SystemTime, Bytes)> = {
        let l = c.logs.lines.lock().unwrap();
        l[range.start.min(l.len())..range.end.min(l.len())].to_vec()
    };
    let mut initial: Vec<(SystemTime, Bytes)> = snapshot
        .iter()
        .filter(|(t, _)| since.is_none_or(|s| *t >= s))
        .cloned()
        .collect();
    if let Some(n) = tail {
        // keep the last n lines
        let all: Vec<u8> = initial.iter().flat_map(|(_, b)| b.to_vec()).collect();
        let lines: Vec<&[u8]> = all.split_inclusive(|x| *x == b'\n').collect();
        let keep = lines[lines.len().saturating_sub(n)..].concat();
        initial = vec![(SystemTime::now(), Bytes::from(keep))];
    }
    let mut body: Vec<u8> = vec![];
    for (t, b) in &initial {
        body.extend_from_slice(&fmt(*t, b));
    }
    if !follow {
        return Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(crate::http::full(body))
            .unwrap();
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(64);
    let from = range.start + snapshot.len();
    tokio::spawn(follow_run(
        sh.clone(),
        c.logs.clone(),
        run,
        from,
        body,
        tx,
        fmt,
    ));
    let stream = tokio_stream_from(rx).map(|b| b.map(Frame::data));
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}

/// The run whose log to show and its lines: the current run, or
/// (`previous`) the one before; a container that never started has none.
fn log_run(
    c: &ContainerRt,
    name: &str,
    previous: bool,
) -> Result<(usize, std::ops::Range<usize>), ApiError> {
    if previous {
        return c.logs.previous_run().map(|r| (0, r)).ok_or_else(|| {
            ApiError::new(
                400,
                "BadRequest",
                format!(
                    "previous terminated container \"{}\" in pod \"{name}\" not found",
                    c.name
                ),
            )
        });
    }
    let (run, start) = c.logs.current_run();
    if run == 0 {
        // never started: the kubelet has no log to show
        // (the kubelet's validateContainerLogStatus wording)
        if let CState::Waiting { reason, .. } = &*c.state.lock().unwrap() {
            let why = match reason.as_str() {
                "ErrImagePull" => "image can't be pulled",
                "ImagePullBackOff" => "trying and failing to pull image",
                r => r,
            };
            return Err(ApiError::new(
                400,
                "BadRequest",
                format!(
                    "container \"{}\" in pod \"{name}\" is waiting to start: {why}",
                    c.name
                ),
            ));
        }
    }
    Ok((run, start..usize::MAX))
}

/// Follow one run's log from line `idx`: what was there (`body`) first,
/// then each new line until the run ends, the client goes, or a fault
/// drops the stream.
async fn follow_run(
    sh: Arc<Shared>,
    logs: Arc<crate::kubelet::LogBuf>,
    run: usize,
    mut idx: usize,
    body: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    fmt: impl Fn(SystemTime, &Bytes) -> Bytes,
) {
    let mut dropper = sh.faults.stream_dropper();
    let stop = sh.shutdown.clone();
    if !body.is_empty() && tx.send(Ok(Bytes::from(body))).await.is_err() {
        return;
    }
    let mut changed = logs.subscribe();
    loop {
        // read whether the run ended before what it wrote: nothing
        // written before its end is missed
        let done = logs.is_closed() || logs.run_ended(run);
        let end = logs.run_end(run);
        let fresh: Vec<(SystemTime, Bytes)> = {
            let l = logs.lines.lock().unwrap();
            let v = l[idx.min(end)..end.min(l.len())].to_vec();
            idx = idx.max(end);
            v
        };
        for (t, b) in fresh {
            if tx.send(Ok(fmt(t, &b))).await.is_err() {
                return;
            }
        }
        // the run ended (a restart begins a new log), or the container
        // for good
        if done {
            return;
        }
        tokio::select! {
            r = changed.changed() => if r.is_err() { return },
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            // a dropped connection: the body ends with an error, so the
            // client sees a broken stream, not a finished one
            _ = dropper.recv() => {
                let _ = tx.send(Err(std::io::Error::other("dropped"))).await;
                return;
            }
        }
    }
}

/// Upgrade to WebSocket and serve exec, attach or portforward.
pub async fn upgrade(
    sh: Arc<Shared>,
    req: Request<Incoming>,
    what: &str,
    ns: &str,
    name: &str,
    q: Query,
) -> Response<Body> {
    let is_ws = req
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_ws {
        // kubectl's SPDY gets the same: this server speaks WebSocket only
        return error_response(&ApiError::new(
            400,
            "BadRequest",
            "Upgrade request required",
        ));
    }
    let proto = match subprotocol(&req, what) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let key = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Resolve before upgrading so errors are plain HTTP answers.
    let job = match resolve_job(&sh, what, ns, name, &q) {
        Ok(j) => j,
        Err(e) => return error_response(&e),
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let v5 = proto == "v5.channel.k8s.io";
    tokio::spawn(serve(sh, req, job, v5));
    let mut answer = Response::builder()
        .status(101)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept);
    if !proto.is_empty() {
        answer = answer.header("sec-websocket-protocol", proto);
    }
    answer.body(crate::http::full(Bytes::new())).unwrap()
}

/// The subprotocol to answer with, of those the client offers (empty: a
/// port-forward client that names none).
fn subprotocol(req: &Request<Incoming>, what: &str) -> Result<String, ApiError> {
    let offered: Vec<String> = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    // exec and attach speak the channel protocols (v5 adds closing
    // stdin); the kubelet's port-forward speaks v4 binary, or takes a
    // client that names no protocol
    // (pkg/kubelet/cri/streaming/portforward/websocket.go)
    let supported: &[&str] = if what == "portforward" {
        &["v4.channel.k8s.io"]
    } else {
        &[
            "v5.channel.k8s.io",
            "v4.channel.k8s.io",
            "v3.channel.k8s.io",
            "v2.channel.k8s.io",
            "channel.k8s.io",
        ]
    };
    let proto = supported
        .iter()
        .find(|p| offered.iter().any(|o| o == *p))
        .map(|p| p.to_string());
    match proto {
        Some(p) => Ok(p),
        None if offered.is_empty() && what == "portforward" => Ok(String::new()),
        None => Err(ApiError::new(
            400,
            "BadRequest",
            format!("no supported subprotocol in {offered:?}; this server speaks {supported:?} over WebSocket"),
        )),
    }
}

/// What an upgraded stream does.
enum Job {
    Exec(Arc<PodRt>, Arc<ContainerRt>, Vec<String>, bool),
    Attach(Arc<ContainerRt>),
    Forward(Vec<u16>, String),
    Refused(String),
}

/// The job of an exec, attach or port-forward request, or its error.
fn resolve_job(sh: &Shared, what: &str, ns: &str, name: &str, q: &Query) -> Result<Job, ApiError> {
    if what == "exec" || what == "attach" {
        let (rt, c) = pod_and_container(sh, ns, name, q.get("container"))?;
        if what == "exec" {
            let cmd = q.all("command");
            if cmd.is_empty() {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    "you must specify at least 1 command",
                ));
            }
            return Ok(Job::Exec(rt, c, cmd, q.flag("stdin")));
        }
        if !matches!(*c.state.lock().unwrap(), CState::Running { .. }) {
            // the kubelet attaches to a running container only; its
            // error comes after the API server upgraded the connection
            return Ok(Job::Refused(format!(
                "container not found (\"{}\")",
                c.name
            )));
        }
        return Ok(Job::Attach(c));
    }
    let pk = sh.store.kind("", "Pod").unwrap();
    let Some(pod) = sh.store.get(&pk, ns, name) else {
        return Err(ApiError::not_found(&pk, name));
    };
    let ports: Vec<u16> = q
        .all("ports")
        .iter()
        .flat_map(|p| {
            p.split(',')
                .map(|x| x.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter_map(|p| p.parse().ok())
        .collect();
    if ports.is_empty() {
        return Err(ApiError::new(
            400,
            "BadRequest",
            "query parameter \"port\" is required",
        ));
    }
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or("")
        .replace('-', "");
    Ok(Job::Forward(ports, format!("{uid}{uid}")))
}

/// The upgraded connection: the job, until it ends, a fault drops the
/// stream, or the server shuts down.
async fn serve(sh: Arc<Shared>, req: Request<Incoming>, job: Job, v5: bool) {
    let Ok(upgraded) = hyper::upgrade::on(req).await else {
        return;
    };
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
    let mut dropper = sh.faults.stream_dropper();
    let work = async {
        match job {
            Job::Exec(rt, c, cmd, stdin) => exec(&sh, ws, rt, c, cmd, stdin, v5).await,
            Job::Attach(c) => attach(ws, c).await,
            Job::Forward(ports, sandbox) => forward(ws, ports, &sandbox).await,
            Job::Refused(why) => {
                let (mut sink, _) = ws.split();
                let st = json!({"metadata": {}, "status": "Failure", "message": why, "reason": "InternalError", "code": 500});
                let _ = sink.send(frame(3, st.to_string().as_bytes())).await;
                let _ = sink.send(normal_close()).await;
            }
        }
    };
    tokio::select! {
        _ = work => {}
        _ = dropper.recv() => {}
        _ = sh.shutdown.cancelled() => {}
    }
}

/// Go's wording of a failed connect (`connection refused`).
fn go_errno(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string().to_lowercase(),
    }
}

/// A close frame with status 1000 (clients treat 1005 as an error).
fn normal_close() -> Message {
    use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

fn frame(ch: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(ch);
    v.extend_from_slice(data);
    Message::binary(v)
}

/// The exit Status an exec's channel 3 carries, worded per protocol
/// (tests/traces/exec-websocket.json).
fn exit_status(code: i32, cmd: &[String], v5: bool) -> serde_json::Value {
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    let why = if v5 {
        format!("command terminated with exit code {code}")
    } else {
        format!(
            "error executing command [{}], exit code {code}",
            cmd.join(" ")
        )
    };
    json!({"metadata": {}, "status": "Failure", "message": format!("command terminated with non-zero exit code: {why}"), "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
}

/// The runtime's answer to an exec of a program the container does not have.
fn not_started(cmd: &str, e: &std::io::Error) -> serde_json::Value {
    let inner = if e.kind() == std::io::ErrorKind::NotFound {
        format!("exec: \"{cmd}\": executable file not found in $PATH")
    } else {
        format!("exec: \"{cmd}\": {e}")
    };
    let id: String = (0..4)
        .map(|i| {
            format!(
                "{:016x}",
                (std::process::id() as u64 + i).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            )
        })
        .collect();
    let why = format!("Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"{id}\": OCI runtime exec failed: exec failed: unable to start container process: {inner}: unknown");
    json!({"metadata": {}, "status": "Failure", "message": format!("Internal error occurred: {why}"), "reason": "InternalError", "details": {"causes": [{"message": why}]}, "code": 500})
}

/// The exec'd command: in the running container's mount namespace when
/// it has volumes (so it sees them), else on the node's PATH; the
/// container's environment, its work directory; piped output, stdin when
/// asked for.
fn exec_command(
    sh: &Shared,
    rt: &PodRt,
    c: &ContainerRt,
    cmd: &[String],
    want_stdin: bool,
) -> tokio::process::Command {
    let pid = *c.pid.lock().unwrap();
    let mut k = match (pid, &sh.kubelet.nsenter) {
        // enter the running container's mount namespace, so it sees its volumes
        (Some(pid), Some(nsenter)) if !c.mounts.is_empty() && sh.kubelet.mounts_ok => {
            let mut k = tokio::process::Command::new(nsenter);
            k.args(["-t", &pid.to_string(), "-m", "--"]).args(cmd);
            k.env_clear();
            for (key, v) in &c.env {
                k.env(key, v);
            }
            k.current_dir(rt.dir.join("work"));
            k
        }
        _ => {
            let path = sh.kubelet.path_env(&rt.node);
            let mut k =
                tokio::process::Command::new(crate::kubelet::resolve_program(&cmd[0], &path));
            k.args(&cmd[1..]);
            k.env_clear();
            for (key, v) in &c.env {
                k.env(key, v);
            }
            k.env("PATH", path);
            let wd = rt.dir.join("work");
            k.current_dir(if wd.exists() {
                wd
            } else {
                std::env::temp_dir()
            });
            k
        }
    };
    let stdin = if want_stdin {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    };
    k.stdin(stdin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    k
}

/// One output of an exec'd command as frames of `channel`, until it ends.
async fn pump(
    mut r: impl tokio::io::AsyncRead + Unpin,
    channel: u8,
    chunk: usize,
    tx: tokio::sync::mpsc::Sender<Message>,
) {
    let mut buf = vec![0u8; chunk];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 || tx.send(frame(channel, &buf[..n])).await.is_err() {
            break;
        }
    }
}

async fn exec(
    sh: &Shared,
    ws: Ws,
    rt: Arc<PodRt>,
    c: Arc<ContainerRt>,
    cmd: Vec<String>,
    want_stdin: bool,
    v5: bool,
) {
    let (mut sink, mut source) = ws.split();
    // the API server's first frame: an empty one on stdout
    if sink.send(frame(1, &[])).await.is_err() {
        return;
    }
    let mut child = match exec_command(sh, &rt, &c, &cmd, want_stdin).spawn() {
        Ok(ch) => ch,
        Err(e) => {
            let st = not_started(&cmd[0], &e);
            let _ = sink.send(frame(3, st.to_string().as_bytes())).await;
            let _ = sink.send(normal_close()).await;
            return;
        }
    };
    let mut stdin = child.stdin.take();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(64);
    let o = tokio::spawn(pump(out, 1, 64 * 1024, tx.clone()));
    let e = tokio::spawn(pump(err, 2, 16 * 1024, tx));
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                return None;
            }
        }
        Some(sink)
    });
    let input = async {
        while let Some(Ok(m)) = source.next().await {
            match m {
                Message::Binary(b) if !b.is_empty() => match b[0] {
                    0 => {
                        if let Some(w) = stdin.as_mut() {
                            if w.write_all(&b[1..]).await.is_err() {
                                stdin = None;
                            }
                        }
                    }
                    255 if b.get(1) == Some(&0) => stdin = None,
                    _ => {}
                },
                Message::Close(_) => break,
                _ => {}
            }
        }
        std::future::pending::<()>().await
    };
    let status = tokio::select! {
        s = child.wait() => s.ok(),
        _ = input => None,
    };
    let _ = o.await;
    let _ = e.await;
    let Ok(Some(mut sink)) = writer.await else {
        return;
    };
    let code = status.and_then(|s| s.code()).unwrap_or(137);
    let st = exit_status(code, &cmd, v5);
    let _ = sink.send(frame(3, st.to_string().as_bytes())).await;
    let _ = sink.send(normal_close()).await;
}

async fn attach(ws: Ws, c: Arc<ContainerRt>) {
    let (mut sink, mut source) = ws.split();
    let logs = c.logs.clone();
    let mut idx = logs.lines.lock().unwrap().len();
    let mut changed = logs.subscribe();
    let c2 = c.clone();
    let input = async move {
        while let Some(Ok(m)) = source.next().await {
            match m {
                Message::Binary(b) if b.first() == Some(&0) => {
                    if let Some(w) = c2.stdin.lock().await.as_mut() {
                        let _ = w.write_all(&b[1..]).await;
                    }
                }
                // v5: the client closed its stdin
                Message::Binary(b) if b[..] == [255, 0] => break,
                m if m.is_close() => break,
                _ => {}
            }
        }
        // with stdinOnce the container's stdin closes with the first attach
        if c2.stdin_once {
            c2.stdin.lock().await.take();
        }
        std::future::pending::<()>().await
    };
    let output = async {
        loop {
            // closed is read before the lines: the logs close after their
            // last line, so a close seen here means that line is taken too
            // (read after, a line written in between was never sent)
            let closed = logs.is_closed();
            let fresh: Vec<Bytes> = {
                let l = logs.lines.lock().unwrap();
                let v = l[idx.min(l.len())..]
                    .iter()
                    .map(|(_, b)| b.clone())
                    .collect();
                idx = l.len();
                v
            };
            for b in fresh {
                if sink.send(frame(1, &b)).await.is_err() {
                    return;
                }
            }
            if closed {
                let _ = sink
                    .send(frame(
                        3,
                        json!({"metadata": {}, "status": "Success"})
                            .to_string()
                            .as_bytes(),
                    ))
                    .await;
                let _ = sink.send(normal_close()).await;
                return;
            }
            if changed.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = input => {}
        _ = output => {}
    }
}

/// Port-forward as the kubelet's WebSocket handler
/// (pkg/kubelet/cri/streaming/portforward/websocket.go,
/// handleWebSocketStreams): per port, a data channel (2i) and an error
/// channel (2i+1), each opened with a frame carrying the port as an
/// unsigned 16-bit little-endian integer; data goes to 127.0.0.1:port; a
/// port that cannot be reached gets the kubelet's "error forwarding port"
/// message (with containerd's reason) on its error channel.
async fn forward(ws: Ws, ports: Vec<u16>, sandbox: &str) {
    let (mut sink, mut source) = ws.split();
    let mut writers = vec![];
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(64);
    for (i, port) in ports.iter().enumerate() {
        let (d, e) = ((2 * i) as u8, (2 * i + 1) as u8);
        let le = port.to_le_bytes();
        if sink.send(frame(d, &le)).await.is_err() || sink.send(frame(e, &le)).await.is_err() {
            return;
        }
        match tokio::net::TcpStream::connect(("127.0.0.1", *port)).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let (mut r, w) = s.into_split();
                writers.push(Some(w));
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 256 * 1024];
                    loop {
                        match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if tx.send(frame(d, &buf[..n])).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = tx.send(normal_close()).await;
                });
            }
            Err(err) => {
                writers.push(None);
                let msg = format!(
                    "error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward in network namespace \"/var/run/netns/cni-{}\": failed to connect to localhost:{port} inside namespace \"{sandbox}\", IPv4: dial tcp4 127.0.0.1:{port}: connect: {} ",
                    &sandbox[..8.min(sandbox.len())],
                    go_errno(&err)
                );
                let _ = sink.send(frame(e, msg.as_bytes())).await;
            }
        }
    }
    // like the kubelet's stream server: once every port's forward has ended
    // (here: failed to connect), the connection closes
    if writers.iter().all(Option::is_none) {
        let _ = sink.send(normal_close()).await;
        return;
    }
    drop(tx);
    let out = async {
        while let Some(m) = rx.recv().await {
            let close = m.is_close();
            if sink.send(m).await.is_err() || close {
                return;
            }
        }
    };
    let input = async {
        while let Some(Ok(m)) = source.next().await {
            match m {
                Message::Binary(b) if b.len() > 1 => {
                    let idx = (b[0] / 2) as usize;
                    if b[0] % 2 == 0 {
                        if let Some(Some(w)) = writers.get_mut(idx) {
                            if w.write_all(&b[1..]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Message::Close(_) => return,
                _ => {}
            }
        }
    };
    tokio::select! {
        _ = out => {}
        _ = input => {}
    }
}
