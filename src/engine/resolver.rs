//! `import "name" as m;` looks in the importing file's directory, then the
//! script's directory, then stdlib/ (embedded in the binary;
//! `SCAFFOLD_STDLIB=DIR` overrides it for stdlib development).

use include_dir::{include_dir, Dir};
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static STDLIB: Dir = include_dir!("$CARGO_MANIFEST_DIR/stdlib");

/// Where a module's text comes from.
#[derive(Clone, Debug)]
pub enum Origin {
    File(PathBuf),
    Embedded(String),
}

/// A located module: its display name (used as the AST source) and origin.
#[derive(Clone, Debug)]
pub struct Located {
    pub display: String,
    pub origin: Origin,
}

impl Located {
    pub fn text(&self) -> Result<String, String> {
        match &self.origin {
            Origin::File(p) => {
                std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            }
            Origin::Embedded(name) => STDLIB
                .get_file(name)
                .and_then(|f| f.contents_utf8())
                .map(str::to_string)
                .ok_or_else(|| format!("embedded stdlib has no {name}")),
        }
    }
}

/// Path as shown to users: relative to the current directory when inside it.
pub fn display_path(p: &Path) -> String {
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
        if let Ok(rel) = abs.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    abs.display().to_string()
}

/// Names of the embedded stdlib modules (`common.rhai`, ...).
pub fn embedded_stdlib() -> Vec<String> {
    let mut v: Vec<String> = STDLIB
        .files()
        .map(|f| f.path().display().to_string())
        .filter(|n| n.ends_with(".rhai"))
        .collect();
    v.sort();
    v
}

pub struct Resolver {
    script_dir: PathBuf,
    stdlib_dir: Option<PathBuf>,
    /// display name -> origin of everything loaded so far
    origins: Mutex<HashMap<String, Origin>>,
    cache: Mutex<HashMap<String, Shared<Module>>>,
}

impl Resolver {
    pub fn new(script_dir: PathBuf) -> Self {
        Resolver {
            script_dir,
            stdlib_dir: std::env::var_os("SCAFFOLD_STDLIB").map(PathBuf::from),
            origins: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Remember the main script so its imports resolve from its directory.
    pub fn add_origin(&self, display: &str, origin: Origin) {
        self.origins
            .lock()
            .unwrap()
            .insert(display.to_string(), origin);
    }

    /// Find a module by import path, as seen from `importer` (a display name).
    pub fn locate(&self, importer: Option<&str>, path: &str) -> Result<Located, String> {
        let file = if Path::new(path).extension().is_some() {
            path.to_string()
        } else {
            format!("{path}.rhai")
        };
        let importer_origin = importer.and_then(|s| self.origins.lock().unwrap().get(s).cloned());
        let mut tried = Vec::new();
        if Path::new(&file).is_absolute() {
            let p = PathBuf::from(&file);
            if p.is_file() {
                return Ok(self.found(Origin::File(p)));
            }
            return Err(format!("module file {file} does not exist"));
        }
        // 1. next to the importing file (embedded stdlib modules import each other)
        match &importer_origin {
            Some(Origin::File(f)) => {
                if let Some(d) = f.parent() {
                    let p = d.join(&file);
                    if p.is_file() {
                        return Ok(self.found(Origin::File(p)));
                    }
                    tried.push(d.display().to_string());
                }
            }
            Some(Origin::Embedded(_)) => {
                if let Some(l) = self.stdlib(&file) {
                    return Ok(l);
                }
            }
            None => {}
        }
        // 2. the script's directory
        let p = self.script_dir.join(&file);
        if p.is_file() {
            return Ok(self.found(Origin::File(p)));
        }
        tried.push(self.script_dir.display().to_string());
        // 3. stdlib
        if let Some(l) = self.stdlib(&file) {
            return Ok(l);
        }
        tried.push(match &self.stdlib_dir {
            Some(d) => format!("{} (SCAFFOLD_STDLIB)", d.display()),
            None => "the embedded stdlib".into(),
        });
        let mut known = embedded_stdlib();
        known
            .iter_mut()
            .for_each(|n| *n = n.trim_end_matches(".rhai").to_string());
        Err(format!(
            "module '{path}' not found; looked in {}; stdlib modules: {}",
            tried.join(", "),
            known.join(", ")
        ))
    }

    fn stdlib(&self, file: &str) -> Option<Located> {
        match &self.stdlib_dir {
            Some(d) => {
                let p = d.join(file);
                p.is_file().then(|| self.found(Origin::File(p)))
            }
            None => STDLIB.get_file(file).map(|_| {
                let l = Located {
                    display: format!("stdlib/{file}"),
                    origin: Origin::Embedded(file.to_string()),
                };
                self.add_origin(&l.display, l.origin.clone());
                l
            }),
        }
    }

    fn found(&self, origin: Origin) -> Located {
        let display = match &origin {
            Origin::File(p) => display_path(p),
            Origin::Embedded(n) => format!("stdlib/{n}"),
        };
        self.add_origin(&display, origin.clone());
        Located { display, origin }
    }

    /// Compile a located module (used by `scaffold check` too).
    pub fn compile(&self, engine: &Engine, l: &Located) -> Result<rhai::AST, Box<EvalAltResult>> {
        let text = l
            .text()
            .map_err(|e| Box::new(EvalAltResult::ErrorSystem(e, "io".into())))?;
        super::errors::remember(&l.display, &text);
        let mut ast = engine.compile(&text).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                l.display.clone(),
                e.into(),
                Position::NONE,
            ))
        })?;
        ast.set_source(l.display.as_str());
        Ok(ast)
    }
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let l = self
            .locate(source, path)
            .map_err(|e| Box::new(EvalAltResult::ErrorModuleNotFound(e, pos)))?;
        if let Some(m) = self.cache.lock().unwrap().get(&l.display) {
            return Ok(m.clone());
        }
        let ast = self.compile(engine, &l).map_err(|e| match *e {
            EvalAltResult::ErrorInModule(n, inner, _) => {
                Box::new(EvalAltResult::ErrorInModule(n, inner, pos))
            }
            other => Box::new(other),
        })?;
        let m = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(l.display.clone(), e, pos)))?;
        let m: Shared<Module> = m.into();
        self.cache.lock().unwrap().insert(l.display, m.clone());
        Ok(m)
    }
}
