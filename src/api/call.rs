//! What every host call needs: the run's host from the engine's tag,
//! errors (and the interrupt error), blocking on the runtime, durations,
//! the cluster client and namespace, JSON <-> Rhai values, `-v` tracing.

use crate::host::Host;
use rhai::{Dynamic, EvalAltResult, NativeCallContext, Position};
use std::sync::Arc;

pub type RResult<T> = Result<T, Box<EvalAltResult>>;

/// The key of the run's host in the engine's tag (a map: the engine keeps
/// its own per-run state there too).
pub const HOST_TAG: &str = "host";

/// The run's host state, carried in the engine's tag.
pub fn host(ctx: &NativeCallContext) -> RResult<Arc<Host>> {
    ctx.tag()
        .and_then(|t| {
            t.read_lock::<rhai::Map>()?
                .get(HOST_TAG)?
                .clone()
                .try_cast::<Arc<Host>>()
        })
        .ok_or_else(|| error("this function needs a running scaffold host"))
}

/// A runtime error with a message (Rhai adds the call position).
pub fn error(msg: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(msg.into()), Position::NONE).into()
}

/// The error every host call returns when Ctrl-C stopped it.
pub fn interrupted() -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(
        Dynamic::from(crate::exit::Interrupted.to_string()),
        Position::NONE,
    )
    .into()
}

/// True when an error means the run was interrupted (or aborted at a breakpoint).
pub fn is_interrupt(e: &EvalAltResult) -> bool {
    match e {
        EvalAltResult::ErrorTerminated(..) => true,
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => is_interrupt(inner),
        _ => false,
    }
}

/// Block on a future, mapping Ctrl-C to the interrupt error.
pub fn block_on<F: std::future::Future>(h: &Host, f: F) -> RResult<F::Output> {
    h.block_on(f).map_err(|_| interrupted())
}

/// Seconds (int or float) as a duration, checked once for every option
/// and argument (negative, not finite, or beyond a year is an error).
pub fn secs(what: &str, v: &Dynamic) -> RResult<std::time::Duration> {
    let f = if let Ok(i) = v.as_int() {
        i as f64
    } else if let Ok(f) = v.as_float() {
        f
    } else {
        return Err(error(format!(
            "{what}: expected seconds as a number, got {}",
            v.type_name()
        )));
    };
    crate::util::duration_from_secs(f).map_err(|e| error(format!("{what}: {e}")))
}

/// The run's cluster client; connecting errors name the function.
pub fn client(h: &Host, func: &str) -> RResult<kube::Client> {
    h.cluster().map(|c| c.client).map_err(|e| failure(func, e))
}

/// A host error with the function's name in front, or the interrupt error.
pub fn failure(func: &str, f: crate::exit::Failure) -> Box<EvalAltResult> {
    match f {
        crate::exit::Failure::Interrupted => interrupted(),
        crate::exit::Failure::Error(e) => error(format!("{func}: {e}")),
    }
}

/// The namespace of the kubeconfig context, else `default`.
pub fn default_ns(h: &Host) -> String {
    h.target()
        .map(|t| t.namespace)
        .unwrap_or_else(|_| "default".into())
}

/// An error of a cluster call: unreachable servers are named with the
/// kubeconfig and context used; API errors get `what` in front.
pub fn k8s_error(
    h: &Host,
    func: &str,
    what: &str,
    e: &crate::k8s::http::K8sError,
) -> Box<EvalAltResult> {
    match e {
        crate::k8s::http::K8sError::Transport(m) => {
            let (url, src, ctx) = match (h.cluster(), h.target()) {
                (Ok(c), Ok(t)) => (c.describe_server(), t.source.describe(), t.context),
                _ => ("?".into(), "?".into(), "?".into()),
            };
            error(format!(
                "{func}: cannot reach the API server at {url} (kubeconfig {src}, context {ctx}): {m}"
            ))
        }
        other => error(format!("{func}: {what}{other}")),
    }
}

/// Rhai value to JSON (custom types become their type name).
pub fn to_json(v: &Dynamic) -> serde_json::Value {
    rhai::serde::from_dynamic::<serde_json::Value>(v)
        .unwrap_or_else(|_| serde_json::Value::String(format!("<{}>", v.type_name())))
}

/// JSON to a Rhai value.
pub fn from_json(v: &serde_json::Value) -> Dynamic {
    rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT)
}

/// Truthiness for `wait_until`: `()`, false, 0, "" and empty collections are false.
pub fn truthy(v: &Dynamic) -> bool {
    if v.is_unit() {
        return false;
    }
    if let Ok(b) = v.as_bool() {
        return b;
    }
    if let Ok(i) = v.as_int() {
        return i != 0;
    }
    if let Ok(f) = v.as_float() {
        return f != 0.0;
    }
    if v.is_string() {
        return !v.clone().into_string().unwrap_or_default().is_empty();
    }
    if v.is_array() {
        return !v.clone().into_array().map(|a| a.is_empty()).unwrap_or(true);
    }
    if v.is_map() {
        return !v.clone().cast::<rhai::Map>().is_empty();
    }
    true
}

/// Short text of a value for traces and messages.
pub fn brief(v: &Dynamic) -> String {
    let s = if v.is_string() {
        format!("{:?}", v.to_string())
    } else {
        format!("{v:?}")
    };
    if s.len() > 120 {
        let mut cut = 117;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &s[..cut])
    } else {
        s
    }
}

/// `-v` trace of a host call (see [`Host::trace`]) for functions that have
/// no other use for the host: prints the call and its duration when the
/// guard is dropped; nothing without `-v` or a host.
pub fn trace(
    ctx: &NativeCallContext,
    name: &str,
    detail: impl FnOnce() -> String,
) -> Option<crate::host::Trace> {
    host(ctx).ok().map(|h| h.trace(name, detail))
}
