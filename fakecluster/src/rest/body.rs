//! Request bodies as the API server reads them: the content types it takes
//! (JSON, YAML, protobuf, the patch types), its 415 and 400 wording, and
//! the field manager a write is recorded under.

use crate::errors::ApiError;
use crate::http::Query;
use crate::kinds::Kind;
use bytes::Bytes;
use serde_json::Value;

/// The media type of a request, without parameters.
pub fn media_type(headers: &hyper::HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A create or replace body (JSON, YAML or protobuf) as an object of
/// `kind`; anything else is the API server's 415 or 400.
pub fn object(kind: &Kind, media: &str, b: &Bytes) -> Result<Value, ApiError> {
    let v = match media {
        "application/vnd.kubernetes.protobuf" => {
            crate::protobuf::to_json(b).map_err(|e| ApiError::new(400, "BadRequest", e))?
        }
        _ if crate::protobuf::is_protobuf(media, b) => {
            crate::protobuf::to_json(b).map_err(|e| ApiError::new(400, "BadRequest", e))?
        }
        "application/json" | "" => json(kind, b)?,
        "application/yaml" => yaml(kind, b)?,
        _ => return Err(unsupported()),
    };
    if !v.is_object() {
        return Err(unrecognized(
            kind,
            b,
            "Object 'Kind' is missing in the request body",
        ));
    }
    Ok(v)
}

/// 415 for a create or replace body the server cannot read.
pub fn unsupported() -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    )
}

/// 415 for a PATCH whose Content-Type is not a patch type.
pub fn unsupported_patch() -> ApiError {
    ApiError::new(415, "UnsupportedMediaType", "415: Unsupported Media Type")
        .with_details(serde_json::json!({}))
}

fn unrecognized(kind: &Kind, b: &[u8], why: &str) -> ApiError {
    let mut text = String::from_utf8_lossy(b).to_string();
    if text.len() > 100 {
        text.truncate(100);
        text.push_str("...");
    }
    ApiError::new(
        400,
        "BadRequest",
        format!(
            "the object provided is unrecognized (must be of type {}): {why} ({text})",
            kind.kind
        ),
    )
}

fn json(kind: &Kind, b: &Bytes) -> Result<Value, ApiError> {
    let s = String::from_utf8_lossy(b);
    match serde_json::from_str::<Value>(&s) {
        Ok(v) => Ok(v),
        Err(_) => {
            let why = crate::gojson::syntax_error(&s).unwrap_or_else(|| "invalid JSON".into());
            Err(unrecognized(
                kind,
                b,
                &format!("couldn't get version/kind; json parse error: {why}"),
            ))
        }
    }
}

fn yaml(kind: &Kind, b: &Bytes) -> Result<Value, ApiError> {
    let s = String::from_utf8_lossy(b);
    serde_saphyr::from_str::<Value>(&s).map_err(|e| {
        unrecognized(
            kind,
            b,
            &format!("couldn't get version/kind; yaml parse error: {e}"),
        )
    })
}

/// A patch body: JSON, or YAML for apply patches.
pub fn patch(media: &str, b: &Bytes) -> Result<Value, ApiError> {
    let s = String::from_utf8_lossy(b);
    if media == "application/apply-patch+yaml" {
        return serde_saphyr::from_str::<Value>(&s)
            .map_err(|e| ApiError::new(400, "BadRequest", format!("error decoding YAML: {e}")));
    }
    serde_json::from_str::<Value>(&s).map_err(|_| {
        let why = crate::gojson::syntax_error(&s).unwrap_or_else(|| "invalid JSON".into());
        ApiError::new(400, "BadRequest", why)
    })
}

/// The field manager of a write: `fieldManager`, else the User-Agent's
/// program name (`kubectl/v1.32 (linux/amd64) ...` writes as `kubectl`).
pub fn manager(q: &Query, headers: &hyper::HeaderMap) -> String {
    if let Some(m) = q.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let ua = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    ua.split('/').next().unwrap_or("unknown").trim().to_string()
}

/// `dryRun=All`
pub fn dry_run(q: &Query) -> Result<bool, ApiError> {
    match q.get("dryRun") {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => Err(ApiError::new(
            400,
            "BadRequest",
            format!("Invalid dry run value: {other}"),
        )),
    }
}
