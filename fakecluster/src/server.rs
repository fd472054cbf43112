//! Listener, TLS, authentication (the kubeconfig's token or client
//! certificate; anonymous requests and impersonated users are refused as
//! the real authorizer refuses them), fault injection, the non-resource
//! paths (health, version, discovery, metrics) and routing.

use crate::faults::Injected;
use crate::http::{error_response, json_response, text_response, Body};
use crate::rest::User;
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
    let lost = req.method() == hyper::Method::POST && sh.faults.take_lost_create();
    let mut r = answer(sh, req, cert_auth).await;
    if lost {
        r = error_response(&ApiError::new(
            504,
            "Timeout",
            "Timeout: request did not complete within requested timeout - context deadline exceeded",
        ));
    }
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    r
}

/// Who a request is from: the kubeconfig's user, `system:anonymous`
/// without credentials, the impersonated user (an administrator only
/// when impersonating `system:masters`); a token the server does not
/// know is a 401.
fn authenticate(
    sh: &Shared,
    req: &Request<Incoming>,
    cert_auth: bool,
) -> Result<User, Box<Response<Body>>> {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let user = match (cert_auth, bearer) {
        (true, _) => User {
            name: "kubernetes-admin".into(),
            admin: true,
        },
        (false, Some(t)) if t == sh.token => User {
            name: "kubernetes-admin".into(),
            admin: true,
        },
        (false, Some(_)) => {
            return Err(Box::new(error_response(&ApiError::new(
                401,
                "Unauthorized",
                "Unauthorized",
            ))))
        }
        (false, None) => User {
            name: "system:anonymous".into(),
            admin: false,
        },
    };
    let Some(as_user) = req
        .headers()
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(user);
    };
    let masters = req
        .headers()
        .get_all("impersonate-group")
        .iter()
        .any(|g| g.to_str().is_ok_and(|g| g == "system:masters"));
    Ok(User {
        name: as_user.to_string(),
        admin: user.admin && masters,
    })
}

async fn answer(sh: Arc<Shared>, mut req: Request<Incoming>, cert_auth: bool) -> Response<Body> {
    let lat = sh.faults.latency();
    if !lat.is_zero() {
        tokio::time::sleep(lat).await;
    }
    let user = match authenticate(&sh, &req, cert_auth) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    match sh.faults.take(req.method() == hyper::Method::POST) {
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
    if let Some(r) = non_resource(&sh, &req, &path, &user) {
        return r;
    }
    req.extensions_mut().insert(user.clone());
    crate::rest::route(sh, req, user).await
}

/// Paths that are not resources; None for `/api/...` and `/apis/...`.
fn non_resource(
    sh: &Shared,
    req: &Request<Incoming>,
    path: &str,
    user: &User,
) -> Option<Response<Body>> {
    // health and version are public (system:public-info-viewer)
    if let Some(r) = crate::discovery::health(sh, path, req.uri().query()) {
        return Some(r);
    }
    if path == "/version" {
        return Some(json_response(200, &crate::discovery::version()));
    }
    let known = path == "/metrics"
        || path == "/api"
        || path == "/apis"
        || path.starts_with("/openapi/")
        || path.starts_with("/api/")
        || path.starts_with("/apis/");
    if !known {
        return Some(text_response(404, "404 page not found\n"));
    }
    if !user.admin && !path.starts_with("/api/") && !path.starts_with("/apis/") {
        return Some(error_response(
            &ApiError::new(
                403,
                "Forbidden",
                format!(
                    "forbidden: User \"{}\" cannot get path \"{path}\"",
                    user.name
                ),
            )
            .with_details(json!({})),
        ));
    }
    let accept = req
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match path {
        "/metrics" => Some(if sh.faults.denies_metrics() {
            error_response(&ApiError::new(403, "Forbidden", "forbidden: User \"system:serviceaccount:default:bench\" cannot get path \"/metrics\""))
        } else {
            crate::metrics::response(&sh.metrics)
        }),
        "/api" | "/apis" => Some(crate::discovery::root(&sh.store, path, accept)),
        "/openapi/v2" => Some(json_response(200, &crate::discovery::openapi_v2())),
        p if p.starts_with("/openapi/v3") => Some(json_response(
            200,
            &crate::discovery::openapi_v3(&sh.store, p),
        )),
        _ => None,
    }
}
