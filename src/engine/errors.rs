//! Errors for people: `path:line:col: message`, the source line with a
//! caret, and the Rhai call stack for errors inside functions and modules.

use rhai::EvalAltResult;
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

pub use crate::api::errors::{location, message, unwind, Frame};

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
