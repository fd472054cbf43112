//! `scaffold check`: compile scripts and their imports without running them,
//! and report calls to functions that nothing defines.

use super::resolver::{Located, Origin, Resolver};
use rhai::{ASTNode, Engine, Expr, Stmt, AST};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Names Rhai handles as keywords or built-in syntax.
const KEYWORDS: &[&str] = &[
    "Fn",
    "call",
    "curry",
    "type_of",
    "print",
    "debug",
    "eval",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "this",
    "!",
    "-",
    "+",
];

pub use crate::util::closest;

/// Every function name the engine knows (host functions and Rhai's packages).
pub fn known_functions(engine: &Engine) -> HashSet<String> {
    let mut set: HashSet<String> = engine
        .gen_fn_signatures(true)
        .into_iter()
        .filter_map(|s| {
            let s = s.trim_start_matches("get$").to_string();
            let name = s.split('(').next()?.trim();
            let name = name.rsplit("::").next().unwrap_or(name);
            Some(
                name.trim_start_matches("get$")
                    .trim_start_matches("set$")
                    .to_string(),
            )
        })
        .collect();
    set.extend(KEYWORDS.iter().map(|s| s.to_string()));
    set
}

/// One problem found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub location: String,
    pub message: String,
}

struct Checked {
    /// functions a module defines (for `alias::name` calls)
    functions: HashSet<String>,
}

pub struct Checker<'e> {
    engine: &'e Engine,
    resolver: &'e Resolver,
    known: HashSet<String>,
    done: BTreeMap<String, Option<Checked>>,
    pub findings: Vec<Finding>,
}

impl<'e> Checker<'e> {
    pub fn new(engine: &'e Engine, resolver: &'e Resolver) -> Self {
        Checker {
            engine,
            resolver,
            known: known_functions(engine),
            done: BTreeMap::new(),
            findings: Vec::new(),
        }
    }

    /// Check one script file given on the command line.
    pub fn check_file(&mut self, path: &Path) {
        let display = super::resolver::display_path(path);
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !abs.is_file() {
            self.findings.push(Finding {
                location: display,
                message: "no such file".into(),
            });
            return;
        }
        self.resolver
            .add_origin(&display, Origin::File(abs.clone()));
        self.check_located(&Located {
            display,
            origin: Origin::File(abs),
        });
    }

    fn check_located(&mut self, l: &Located) -> Option<HashSet<String>> {
        if let Some(done) = self.done.get(&l.display) {
            return done.as_ref().map(|c| c.functions.clone());
        }
        // mark in progress (breaks import cycles)
        self.done.insert(l.display.clone(), None);
        let ast = match self.resolver.compile(self.engine, l) {
            Ok(a) => a,
            Err(e) => {
                let (inner, src, _) = super::errors::unwind(&e, &l.display);
                self.findings.push(Finding {
                    location: super::errors::location(Some(&src), inner.position()),
                    message: super::errors::message(inner),
                });
                return None;
            }
        };
        let functions = self.check_ast(&ast, &l.display);
        self.done.insert(
            l.display.clone(),
            Some(Checked {
                functions: functions.clone(),
            }),
        );
        Some(functions)
    }

    fn check_ast(&mut self, ast: &AST, display: &str) -> HashSet<String> {
        let own: HashSet<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
        let w = walk(ast);
        let mut modules: BTreeMap<String, Option<HashSet<String>>> = BTreeMap::new();
        for (path, alias, pos) in w.imports {
            match self.resolver.locate(Some(display), &path) {
                Ok(l) => {
                    let fns = self.check_located(&l);
                    modules.insert(alias, fns);
                }
                Err(e) => self.find(display, pos, e),
            }
        }
        for (ns, name, pos, method) in w.calls {
            let problem = if ns.is_empty() {
                self.unknown_call(&name, method, &own, &w.vars)
            } else {
                module_call(&modules, &ns, &name)
            };
            if let Some(m) = problem {
                self.find(display, pos, m);
            }
        }
        own
    }

    fn find(&mut self, display: &str, pos: rhai::Position, message: String) {
        self.findings.push(Finding {
            location: super::errors::location(Some(display), pos),
            message,
        });
    }

    /// A plain call of a function nobody defines.
    fn unknown_call(
        &self,
        name: &str,
        method: bool,
        own: &HashSet<String>,
        vars: &HashSet<String>,
    ) -> Option<String> {
        if self.known.contains(name) || own.contains(name) || (!method && vars.contains(name)) {
            return None;
        }
        let candidates = self.known.iter().chain(own.iter()).map(|s| s.as_str());
        let hint = closest(name, candidates)
            .map(|c| format!("; did you mean '{c}'?"))
            .unwrap_or_default();
        Some(format!(
            "unknown function '{name}': not a host function and not defined in this script or its imports{hint}"
        ))
    }
}

/// What a script's AST holds: imports, variable names, calls.
#[derive(Default)]
struct Walked {
    imports: Vec<(String, String, rhai::Position)>,
    vars: HashSet<String>,
    /// (namespace, name, position, is a method call)
    calls: Vec<(String, String, rhai::Position, bool)>,
}

fn walk(ast: &AST) -> Walked {
    let mut w = Walked::default();
    for f in ast.iter_functions() {
        w.vars.extend(f.params.iter().map(|p| p.to_string()));
    }
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Stmt(Stmt::Import(x, pos))) => {
                if let Expr::StringConstant(s, _) = &x.0 {
                    w.imports.push((s.to_string(), x.1.name.to_string(), *pos));
                }
            }
            Some(ASTNode::Stmt(Stmt::Var(x, _, _))) => {
                w.vars.insert(x.0.name.to_string());
            }
            Some(ASTNode::Stmt(Stmt::For(x, _))) => {
                w.vars.insert(x.0.name.to_string());
                if let Some(c) = &x.1 {
                    w.vars.insert(c.name.to_string());
                }
            }
            Some(ASTNode::Expr(Expr::FnCall(x, pos)))
            | Some(ASTNode::Stmt(Stmt::FnCall(x, pos)))
                if x.op_token.is_none() =>
            {
                w.calls
                    .push((x.namespace.to_string(), x.name.to_string(), *pos, false));
            }
            Some(ASTNode::Expr(Expr::MethodCall(x, pos))) => {
                w.calls
                    .push((String::new(), x.name.to_string(), *pos, true));
            }
            _ => {}
        }
        true
    });
    w
}

/// A `module::function` call: the module imported, and the function in it.
fn module_call(
    modules: &BTreeMap<String, Option<HashSet<String>>>,
    ns: &str,
    name: &str,
) -> Option<String> {
    let alias = ns.trim_end_matches("::").to_string();
    match modules.get(&alias) {
        Some(Some(fns)) if !fns.contains(name) => {
            let hint = closest(name, fns.iter().map(|s| s.as_str()))
                .map(|c| format!("; did you mean '{alias}::{c}'?"))
                .unwrap_or_default();
            Some(format!("module '{alias}' has no function '{name}'{hint}"))
        }
        Some(_) => None,
        None => Some(format!(
            "'{alias}' is not an imported module (import \"...\" as {alias};)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let names = ["wait_ready", "wait_for", "sh_output"];
        assert_eq!(
            closest("wait_redy", names.iter().copied()),
            Some("wait_ready")
        );
        assert_eq!(
            closest("sh_outptu", names.iter().copied()),
            Some("sh_output")
        );
        assert_eq!(closest("zzz", names.iter().copied()), None);
        assert_eq!(
            closest("kitten", ["sitting", "kitchen"].into_iter()),
            Some("kitchen")
        );
    }
}
