//! Listener, TLS, authentication, fault injection and routing.

use crate::faults::Injected;
use crate::http::{error_response, json_response, text_response, Body};
use crate::shared::Shared;
use crate::store::ApiError;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Accept TLS connections until `stop` is cancelled.
pub async fn serve(sh: Arc<Shared>, listener: TcpListener, stop: CancellationToken) {
    let acceptor = tokio_rustls::TlsAcceptor::from(sh.tls.clone());
    loop {
        let (tcp, _) = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
        };
        let _ = tcp.set_nodelay(true);
        let sh = sh.clone();
        let acceptor = acceptor.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let cert_auth = tls
                .get_ref()
                .1
                .peer_certificates()
                .is_some_and(|c| !c.is_empty());
            let svc = hyper::service::service_fn(move |req| {
                let sh = sh.clone();
                async move { Ok::<_, Infallible>(handle(sh, req, cert_auth).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

/// Serve a request; with a response delay the work is done first and the
/// answer held back (a client that gives up meanwhile never learns that
/// its request was carried out).
async fn handle(sh: Arc<Shared>, req: Request<Incoming>, cert_auth: bool) -> Response<Body> {
    let hold = sh.faults.response_delay();
    let r = answer(sh, req, cert_auth).await;
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    r
}

async fn answer(sh: Arc<Shared>, req: Request<Incoming>, cert_auth: bool) -> Response<Body> {
    let lat = sh.faults.latency();
    if !lat.is_zero() {
        tokio::time::sleep(lat).await;
    }
    let authed = cert_auth
        || req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| t == sh.token);
    if !authed {
        return json_response(
            401,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
        );
    }
    match sh.faults.take() {
        Injected::Throttle => {
            let mut r = error_response(&ApiError::new(
                429,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later",
            ));
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            return r;
        }
        Injected::Error => {
            return error_response(&ApiError::new(500, "InternalError", "an error on the server (\"injected fault\") has prevented the request from succeeding"));
        }
        Injected::None => {}
    }
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/version" => json_response(200, &crate::discovery::version()),
        "/healthz" | "/livez" | "/readyz" => health(&sh, &req, &path),
        "/metrics" => {
            if sh.faults.denies_metrics() {
                return error_response(&ApiError::new(403, "Forbidden", "forbidden: User \"system:serviceaccount:default:bench\" cannot get path \"/metrics\""));
            }
            text_response(200, sh.metrics.render())
        }
        "/api" => json_response(200, &crate::discovery::api_versions()),
        "/apis" => json_response(200, &crate::discovery::api_groups(&sh.store)),
        "/openapi/v2" => json_response(200, &crate::discovery::openapi_v2()),
        p if p.starts_with("/openapi/v3") => {
            json_response(200, &crate::discovery::openapi_v3(&sh.store, p))
        }
        _ => crate::rest::route(sh, req).await,
    }
}

fn health(sh: &Shared, req: &Request<Incoming>, path: &str) -> Response<Body> {
    let verbose = req.uri().query().is_some_and(|q| q.contains("verbose"));
    let checks = [
        "ping",
        "log",
        "etcd",
        "etcd-readiness",
        "informer-sync",
        "poststarthook/start-apiextensions-controllers",
        "poststarthook/crd-informer-synced",
        "shutdown",
    ];
    let failing = if path == "/readyz" || path == "/livez" {
        sh.faults.readyz_failing()
    } else {
        None
    };
    let name = path.trim_start_matches('/');
    let mut body = String::new();
    for c in checks {
        if failing.as_deref() == Some(c) {
            body.push_str(&format!("[-]{c} failed: reason withheld\n"));
        } else {
            body.push_str(&format!("[+]{c} ok\n"));
        }
    }
    let ok = failing.is_none();
    if ok {
        body.push_str(&format!("{name} check passed\n"));
    } else {
        body.push_str(&format!("{name} check failed\n"));
    }
    if !verbose {
        body = if ok { "ok".into() } else { body };
    }
    text_response(if ok { 200 } else { 500 }, body)
}
