//! `scaffold repl`: a rustyline prompt with every host function, persistent
//! history, multi-line input, completion and `:help`.

pub mod breakpoint;

use crate::engine::docs::{self, AreaDoc};
use crate::host::Host;
use rhai::{Dynamic, EvalAltResult, Scope, AST};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};
use std::sync::{Arc, Mutex, OnceLock};

const COMMANDS: &[&str] = &[":help", ":vars", ":load", ":quit", ":c", ":q", ":where"];

fn host_docs() -> &'static Vec<AreaDoc> {
    static D: OnceLock<Vec<AreaDoc>> = OnceLock::new();
    D.get_or_init(docs::collect)
}

/// Completion and multi-line validation.
pub struct ReplHelper {
    /// host function names (fixed)
    host_names: Vec<String>,
    /// script functions and variables in scope (refreshed after each input)
    dynamic_names: Arc<Mutex<Vec<String>>>,
    parser: rhai::Engine,
}

impl Helper for ReplHelper {}
impl Highlighter for ReplHelper {}
impl Hinter for ReplHelper {
    type Hint = String;
}

impl Completer for ReplHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, vec![]));
        }
        let dynamic = self.dynamic_names.lock().unwrap().clone();
        let mut seen = std::collections::BTreeSet::new();
        let pool: Box<dyn Iterator<Item = &str>> = if word.starts_with(':') {
            Box::new(COMMANDS.iter().copied())
        } else {
            Box::new(
                self.host_names
                    .iter()
                    .map(|s| s.as_str())
                    .chain(dynamic.iter().map(|s| s.as_str())),
            )
        };
        for n in pool {
            if n.starts_with(word) {
                seen.insert(n.to_string());
            }
        }
        let pairs = seen
            .into_iter()
            .map(|n| Pair {
                display: n.clone(),
                replacement: n,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_incomplete(&self.parser, ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

/// True when more lines are needed: an open block or an unterminated string.
pub fn is_incomplete(parser: &rhai::Engine, input: &str) -> bool {
    let t = input.trim();
    if t.is_empty() || t.starts_with(':') {
        return false;
    }
    match parser.compile(input) {
        Ok(_) => false,
        Err(e) => {
            use rhai::{LexError, ParseErrorType as P};
            match &*e.0 {
                P::UnexpectedEOF => true,
                P::BadInput(LexError::UnterminatedString) => true,
                // a token missing at the very end of the input: a closing
                // one, or the `;` a statement inside an open block needs
                P::MissingToken(..) => at_end(input, e.1),
                _ => {
                    at_end(input, e.1) && matches!(&*e.0, P::ExprExpected(_) | P::MissingSymbol(_))
                }
            }
        }
    }
}

fn at_end(input: &str, pos: rhai::Position) -> bool {
    let lines = input.lines().count().max(1);
    pos.is_none() || pos.line().unwrap_or(0) >= lines
}

/// A rustyline editor with the REPL helper; `history` loads the persistent history.
pub fn editor(history: bool) -> rustyline::Result<Editor<ReplHelper, DefaultHistory>> {
    let mut ed: Editor<ReplHelper, DefaultHistory> = crate::signals::keep_sigint(Editor::new)?;
    let mut host_names: Vec<String> = host_docs()
        .iter()
        .flat_map(|a| a.functions.iter().map(|f| f.name.clone()))
        .collect();
    host_names.extend(
        [
            "print", "debug", "type_of", "Fn", "call", "len", "keys", "values", "push", "contains",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    host_names.sort();
    host_names.dedup();
    ed.set_helper(Some(ReplHelper {
        host_names,
        dynamic_names: Arc::new(Mutex::new(vec![])),
        parser: rhai::Engine::new_raw(),
    }));
    if history {
        if let Some(p) = crate::paths::history_path() {
            let _ = ed.load_history(&p);
        }
    }
    Ok(ed)
}

/// Update completion with the variables in scope and script functions.
pub fn refresh_names(ed: &Editor<ReplHelper, DefaultHistory>, scope: &Scope, ast: Option<&AST>) {
    if let Some(h) = ed.helper() {
        let mut names: Vec<String> = scope.iter_raw().map(|(n, ..)| n.to_string()).collect();
        if let Some(ast) = ast {
            names.extend(ast.iter_functions().map(|f| f.name.to_string()));
        }
        *h.dynamic_names.lock().unwrap() = names;
    }
}

/// `:vars`
pub fn print_vars(scope: &Scope) {
    let mut any = false;
    for (name, constant, value) in scope.iter_raw() {
        any = true;
        let kind = if constant { "const" } else { "let" };
        crate::ui::out(format!(
            "  {kind} {name} = {} ({})",
            crate::api::brief(value),
            value.type_name()
        ));
    }
    if !any {
        crate::ui::out("  (no variables)");
    }
}

/// Print an evaluation result or its error (`src` names the input in errors).
pub fn show_result(r: Result<Dynamic, Box<EvalAltResult>>, src: &str) {
    match r {
        Ok(v) if v.is_unit() => {}
        Ok(v) => crate::ui::out(format!("{v:?}")),
        Err(e) if crate::api::is_interrupt(&e) => {
            crate::ui::err(crate::engine::errors::message(&e))
        }
        Err(e) => crate::ui::err(crate::engine::errors::render(&e, src)),
    }
}

/// Run the REPL until `:quit` or Ctrl-D. Returns the exit code.
pub fn run(host: Arc<Host>) -> crate::exit::ExitCode {
    let rt = host.rt().clone();
    let _rt_guard = rt.enter();
    let (engine, resolver) = crate::engine::build(Some(host.clone()));
    let _ = resolver;
    let mut ed = match editor(true) {
        Ok(e) => e,
        Err(e) => {
            let msg = format!("cannot start the REPL: {e}");
            return crate::exit::fail(crate::exit::ExitCode::ERROR, msg);
        }
    };
    let mut scope = Scope::new();
    let mut lib = AST::empty();
    crate::ui::err(format!(
        "scaffold {} REPL: every host function is available. :help [NAME], :vars, :load FILE, :quit; Ctrl-D exits.",
        env!("CARGO_PKG_VERSION")
    ));
    let hist = crate::paths::history_path();
    loop {
        // what was printed so far goes out before the prompt
        crate::ui::flush(std::time::Duration::from_secs(2));
        match ed.readline("scaffold> ") {
            Ok(line) => {
                let mut input = line.trim_end().to_string();
                if input.trim().is_empty() {
                    continue;
                }
                // on a terminal the validator already waited for the end of
                // a block; piped input is read on here the same way
                while is_incomplete(&engine, &input) {
                    match ed.readline("     ...> ") {
                        Ok(more) => {
                            input.push('\n');
                            input.push_str(more.trim_end());
                        }
                        Err(_) => break,
                    }
                }
                let _ = ed.add_history_entry(input.as_str());
                if let Some(p) = &hist {
                    // created 0600 in a private directory, never through a symlink
                    if crate::paths::private_file(p, true).is_ok() {
                        let _ = ed.append_history(p);
                    }
                }
                let t = input.trim();
                if t.starts_with(':') {
                    if !command(t, &engine, &mut scope, &mut lib, &host) {
                        break;
                    }
                } else {
                    eval(&engine, &mut scope, &mut lib, &input, "<repl>", &host);
                }
                refresh_names(&ed, &scope, Some(&lib));
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                crate::ui::err(format!("error: {e}"));
                break;
            }
        }
    }
    crate::engine::run::end_of_run(&host, &engine, Some(&lib), "<repl>");
    crate::exit::ExitCode::OK
}

/// Evaluate one input, keeping its functions for later inputs.
fn eval(
    engine: &rhai::Engine,
    scope: &mut Scope,
    lib: &mut AST,
    input: &str,
    src: &str,
    host: &Host,
) {
    crate::engine::errors::remember(src, input);
    let r = engine
        .compile_with_scope(scope, input)
        .map_err(EvalAltResult::from);
    let r = r.map_err(Box::new).and_then(|mut ast| {
        ast.set_source(src);
        *lib += ast;
        let v = engine.eval_ast_with_scope::<Dynamic>(scope, lib);
        lib.clear_statements();
        v
    });
    let hint = r.as_ref().err().and_then(|e| did_you_mean(e, scope, lib));
    show_result(r, src);
    if let Some(h) = hint {
        crate::ui::err(h);
    }
    host.interrupt().reset();
}

/// "did you mean" for a function or variable that does not exist, as
/// `scaffold check` gives it.
pub fn did_you_mean(e: &EvalAltResult, scope: &Scope, lib: &AST) -> Option<String> {
    let (name, pool): (String, Vec<String>) = match e {
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            let name = sig.split([' ', '(']).next().unwrap_or("").to_string();
            let mut pool: Vec<String> = host_docs()
                .iter()
                .flat_map(|a| a.functions.iter().map(|f| f.name.clone()))
                .collect();
            pool.extend(lib.iter_functions().map(|f| f.name.to_string()));
            (name, pool)
        }
        EvalAltResult::ErrorVariableNotFound(name, _) => (
            name.clone(),
            scope.iter_raw().map(|(n, ..)| n.to_string()).collect(),
        ),
        _ => return None,
    };
    let best = crate::util::closest(&name, pool.iter().map(|s| s.as_str()))?;
    (best != name).then(|| format!("hint: did you mean '{best}'?"))
}

/// Handle a `:command`. Returns false to quit.
fn command(t: &str, engine: &rhai::Engine, scope: &mut Scope, lib: &mut AST, host: &Host) -> bool {
    let (cmd, arg) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let arg = arg.trim();
    match cmd {
        ":quit" | ":q" | ":exit" => return false,
        ":vars" => print_vars(scope),
        ":help" | ":h" if arg.is_empty() => {
            crate::ui::out(":help NAME   signature and doc of a function\n:vars        variables in scope\n:load FILE   run a script file into this session\n:quit        leave (Ctrl-D too)\nHost functions by area:");
            for a in host_docs() {
                let mut names: Vec<&str> = a.functions.iter().map(|f| f.name.as_str()).collect();
                names.dedup();
                crate::ui::out(format!("  {}: {}", a.title, names.join(", ")));
            }
        }
        ":help" | ":h" => match docs::help(host_docs(), arg) {
            Some(h) => crate::ui::out(h),
            None => {
                let fns: Vec<String> = lib
                    .iter_functions()
                    .filter(|f| f.name == arg)
                    .map(|f| format!("fn {}({})", f.name, f.params.join(", ")))
                    .collect();
                if fns.is_empty() {
                    crate::ui::out(format!("no function named '{arg}'"));
                } else {
                    crate::ui::out(fns.join("\n"));
                }
            }
        },
        ":load" => {
            let p = host.resolve_path(arg);
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    let src = crate::engine::resolver::display_path(&p);
                    eval(engine, scope, lib, &text, &src, host);
                }
                Err(e) => crate::ui::err(format!("error: cannot read {}: {e}", p.display())),
            }
        }
        other => crate::ui::err(format!("unknown command {other}; try :help")),
    }
    true
}
