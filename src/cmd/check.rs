//! `scaffold check FILE...`: scripts compiled and their host calls checked
//! without running them; `scaffold docs`: every host function.

use crate::cli::DocsFormat;
use crate::exit::ExitCode;
use std::path::PathBuf;

pub fn check(files: &[PathBuf]) -> ExitCode {
    let (engine, resolver) = crate::engine::build(None);
    let mut checker = crate::engine::check::Checker::new(&engine, &resolver);
    for f in files {
        checker.check_file(f);
    }
    for f in &checker.findings {
        crate::ui::err(format!("{}: {}", f.location, f.message));
    }
    if checker.findings.is_empty() {
        crate::ui::err(format!("ok: {} file(s) checked", files.len()));
        ExitCode::OK
    } else {
        crate::ui::err(format!("{} problem(s) found", checker.findings.len()));
        ExitCode::ERROR
    }
}

pub fn docs(format: DocsFormat) -> ExitCode {
    let docs = crate::engine::docs::collect();
    match format {
        DocsFormat::Markdown => print!("{}", crate::engine::docs::markdown(&docs)),
        DocsFormat::Json => crate::ui::out(serde_json::to_string_pretty(&docs).unwrap_or_default()),
    }
    ExitCode::OK
}
