//! What a resource request names and who makes it, and how one object
//! is answered.

use crate::http::Body;
use crate::kinds::Kind;
use hyper::Response;

/// Who is asking (server.rs authenticates).
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    /// may do anything (the kubeconfig's token or certificate)
    pub admin: bool,
}

/// What a resource URL names.
pub struct Target {
    pub kind: Kind,
    pub ns: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

/// One object as a JSON answer, with its apiVersion and kind.
pub fn object_response(code: u16, s: &crate::store::Stored) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(crate::http::full(s.typed()))
        .expect("object response")
}
