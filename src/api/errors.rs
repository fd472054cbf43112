//! What a script error says: its innermost message (without Rhai's
//! position suffix), its location as `file:line:col`, and the call stack
//! that led there. Rendering with the quoted source line is the engine's
//! (src/engine/errors.rs).

use rhai::{EvalAltResult, Position};

/// `file:line:col` (or `file` when there is no position).
pub fn location(source: Option<&str>, pos: Position) -> String {
    let src = source.filter(|s| !s.is_empty()).unwrap_or("<script>");
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{src}:{l}:{c}"),
        (Some(l), None) => format!("{src}:{l}"),
        _ => src.to_string(),
    }
}

/// One frame of the call stack.
pub struct Frame {
    pub what: String,
    pub source: String,
    pub pos: Position,
}

/// The innermost error, the source its position is in, and the frames that led there.
pub fn unwind<'a>(e: &'a EvalAltResult, main: &str) -> (&'a EvalAltResult, String, Vec<Frame>) {
    let mut frames = Vec::new();
    let mut cur = e;
    let mut src = main.to_string();
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(name, fsrc, inner, pos) => {
                frames.push(Frame {
                    what: format!("{name}()"),
                    source: src.clone(),
                    pos: *pos,
                });
                if !fsrc.is_empty() {
                    src = fsrc.clone();
                }
                cur = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                frames.push(Frame {
                    what: format!("import \"{name}\""),
                    source: src.clone(),
                    pos: *pos,
                });
                src = name.clone();
                cur = inner;
            }
            _ => return (cur, src, frames),
        }
    }
}

/// The innermost message without Rhai's position suffix.
pub fn message(e: &EvalAltResult) -> String {
    let (inner, _, _) = unwind(e, "");
    match inner {
        EvalAltResult::ErrorRuntime(d, _) => d.to_string(),
        EvalAltResult::ErrorTerminated(d, _) => {
            let s = d.to_string();
            if s.is_empty() {
                "interrupted".into()
            } else {
                s
            }
        }
        EvalAltResult::ErrorModuleNotFound(m, _) => m.clone(),
        EvalAltResult::ErrorSystem(m, _) => m.clone(),
        other => strip_position(&other.to_string()),
    }
}

/// Drop Rhai's ` (line 3, position 5)` suffix: we print positions ourselves.
pub fn strip_position(s: &str) -> String {
    match s.rfind(" (line ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s.to_string(),
    }
}
