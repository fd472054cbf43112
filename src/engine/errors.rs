//! Errors for people: `path:line:col: message`, the source line with a
//! caret, and the Rhai call stack for errors inside functions and modules.

use rhai::{EvalAltResult, Position};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

fn sources() -> &'static Mutex<HashMap<String, Arc<str>>> {
    static S: OnceLock<Mutex<HashMap<String, Arc<str>>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

/// Keep a source text so errors can quote its lines.
pub fn remember(display: &str, text: &str) {
    sources()
        .lock()
        .unwrap()
        .insert(display.to_string(), Arc::from(text));
}

fn source_line(display: &str, line: usize) -> Option<String> {
    let s = sources().lock().unwrap().get(display).cloned()?;
    s.lines().nth(line.checked_sub(1)?).map(str::to_string)
}

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

/// The whole report: location, message, quoted line with caret, call stack.
pub fn render(e: &EvalAltResult, main: &str) -> String {
    let (inner, src, frames) = unwind(e, main);
    let pos = inner.position();
    let msg = message(inner);
    let (first, more) = msg.split_once('\n').unwrap_or((&msg, ""));
    let mut out = format!("error: {}: {first}", location(Some(&src), pos));
    if let (Some(l), Some(text)) = (pos.line(), pos.line().and_then(|l| source_line(&src, l))) {
        let num = l.to_string();
        let pad = " ".repeat(num.len());
        let col = pos.position().unwrap_or(1).max(1);
        let caret_pad: String = text
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!("\n {num} | {text}\n {pad} | {caret_pad}^"));
    }
    if !more.is_empty() {
        out.push('\n');
        out.push_str(more);
    }
    if !frames.is_empty() {
        out.push_str("\ncall stack (innermost first):");
        for f in frames.iter().rev() {
            out.push_str(&format!(
                "\n  in {} called at {}",
                f.what,
                location(Some(&f.source), f.pos)
            ));
        }
    }
    out
}

/// Drop Rhai's ` (line 3, position 5)` suffix: we print positions ourselves.
fn strip_position(s: &str) -> String {
    match s.rfind(" (line ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s.to_string(),
    }
}
