//! Thin: parse the CLI, install the crypto provider, build the runtime,
//! dispatch, map errors to exit codes.

use clap::{CommandFactory, Parser};
use scaffold::cli::{Cli, Command, DocsFormat, ScriptArgs};
use scaffold::engine::run::{EXIT_ERROR, EXIT_OK, EXIT_USAGE};
use scaffold::host::{Host, Settings};
use scaffold::interrupt::{Interrupt, Mode};
use scaffold::k8s::kubeconfig::KubeOptions;
use std::path::{Path, PathBuf};

fn main() {
    let cli = Cli::parse();
    scaffold::install_crypto();
    init_tracing(cli.global.verbose);
    let code = dispatch(cli);
    scaffold::ui::flush(std::time::Duration::from_secs(5));
    std::process::exit(code);
}

fn init_tracing(verbose: bool) {
    let filter = std::env::var("SCAFFOLD_LOG").unwrap_or_else(|_| {
        // kube's own error logs would repeat what our errors say, with less context
        if verbose {
            "scaffold=debug,kube=warn"
        } else {
            "scaffold=warn"
        }
        .to_string()
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // output from runtime threads never blocks them (src/ui.rs)
        .on_thread_start(scaffold::ui::mark_worker)
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime")
}

fn kube_options(g: &scaffold::cli::Global) -> KubeOptions {
    KubeOptions {
        kubeconfig: g.kubeconfig.clone(),
        context: g.context.clone(),
        qps: g.qps,
        burst: g.burst,
    }
}

/// A runtime with the Ctrl-C handler of `mode` installed.
fn runtime_with(mode: Mode) -> (tokio::runtime::Runtime, std::sync::Arc<Interrupt>) {
    let rt = runtime();
    let interrupt = Interrupt::new();
    interrupt.install(rt.handle(), mode);
    (rt, interrupt)
}

fn repl(kube: KubeOptions, verbose: bool) -> i32 {
    let (rt, interrupt) = runtime_with(Mode::Repl);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let settings = Settings {
        script_display: "<repl>".into(),
        artifacts_parent: cwd.join("artifacts"),
        script_dir: cwd,
        verbose,
        breakpoints: false,
        kube,
        ..Default::default()
    };
    let host = Host::new(rt.handle().clone(), interrupt, settings);
    scaffold::repl::run(host)
}

fn docs(format: DocsFormat) -> i32 {
    let docs = scaffold::engine::docs::collect();
    match format {
        DocsFormat::Markdown => print!("{}", scaffold::engine::docs::markdown(&docs)),
        DocsFormat::Json => {
            scaffold::ui::out(serde_json::to_string_pretty(&docs).unwrap_or_default())
        }
    }
    EXIT_OK
}

fn dispatch(cli: Cli) -> i32 {
    let kube = kube_options(&cli.global);
    let verbose = cli.global.verbose;
    match cli.command {
        Command::Script(a) => script(a, kube, verbose),
        Command::Repl => repl(kube, verbose),
        Command::Check { files } => check(&files),
        Command::Docs { format } => docs(format),
        Command::Verify(scaffold::cli::VerifyCommand::K8sReady(a)) => {
            let (rt, interrupt) = runtime_with(Mode::Script);
            scaffold::cmd::verify::k8s_ready(&a, &kube, &rt, &interrupt)
        }
        Command::Apply(a) => {
            let (rt, interrupt) = runtime_with(Mode::Script);
            scaffold::cmd::apply::apply(&a, kube, verbose, &rt, interrupt)
        }
        Command::PortForward(a) => {
            let (rt, interrupt) = runtime_with(Mode::Repl);
            scaffold::cmd::apply::port_forward(&a, &kube, &rt, &interrupt)
        }
        Command::Lazyget(c) => {
            let (_rt, interrupt) = runtime_with(Mode::Script);
            scaffold::cmd::lazyget::run(&c, &interrupt)
        }
        Command::Ron(a) => {
            let (rt, interrupt) = runtime_with(Mode::Script);
            scaffold::cmd::ron::ron(&a, &kube, &rt, &interrupt)
        }
        Command::Sweep(a) => scaffold::sweep::run::sweep(&a, &cli.global),
        Command::Report(a) => report(&a),
        Command::Cleanup {
            run,
            dry_run,
            older_than,
        } => {
            let rt = runtime();
            scaffold::cmd::cleanup::cleanup(
                run.as_deref(),
                dry_run,
                older_than.as_deref(),
                &kube,
                &rt,
            )
        }
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "scaffold",
                &mut std::io::stdout(),
            );
            EXIT_OK
        }
    }
}

fn report(a: &scaffold::cli::ReportArgs) -> i32 {
    use scaffold::report;
    let thresholds = match a
        .fail_if
        .iter()
        .map(|t| report::Threshold::parse(t))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(t) => t,
        Err(e) => {
            scaffold::ui::err(format!("error: {e}"));
            return EXIT_USAGE;
        }
    };
    if a.results.iter().any(|d| report::sweep::is_sweep(d)) {
        return report_sweep(a, &thresholds);
    }
    let runs = match report::find_results(&a.results).and_then(|p| report::load(&p)) {
        Ok(r) => r,
        Err(e) => {
            scaffold::ui::err(format!("error: {e}"));
            return EXIT_ERROR;
        }
    };
    match a.output {
        scaffold::cli::ReportFormat::Text => print!("{}", report::render(&runs)),
        scaffold::cli::ReportFormat::Json => scaffold::ui::out(
            serde_json::to_string_pretty(&report::to_json(&runs)).unwrap_or_default(),
        ),
    }
    if let Some(p) = &a.plot {
        if let Err(e) = report::plot::draw(&runs, p, a.plot_style, &a.metrics) {
            scaffold::ui::err(format!("error: {e}"));
            return EXIT_ERROR;
        }
        scaffold::ui::err(format!("plot: {}", p.display()));
    }
    if thresholds.is_empty() {
        return EXIT_OK;
    }
    match report::check(&runs, &thresholds) {
        Ok((lines, failed)) => {
            eprint!("\nthresholds\n{lines}");
            if failed {
                scaffold::ui::err("error: a --fail-if condition holds");
                EXIT_ERROR
            } else {
                EXIT_OK
            }
        }
        Err(e) => {
            scaffold::ui::err(format!("error: {e}"));
            EXIT_USAGE
        }
    }
}

/// `scaffold report SWEEP_DIR`: groups by grid point, compared.
fn report_sweep(a: &scaffold::cli::ReportArgs, thresholds: &[scaffold::report::Threshold]) -> i32 {
    use scaffold::report::{self, sweep};
    let fail = |code: i32, e: String| {
        scaffold::ui::err(format!("error: {e}"));
        code
    };
    if a.results.len() != 1 {
        return fail(
            EXIT_USAGE,
            "report one sweep directory at a time (its runs are grouped by grid point)".into(),
        );
    }
    let baseline = match a.baseline.as_deref().map(sweep::parse_point).transpose() {
        Ok(b) => b,
        Err(e) => return fail(EXIT_USAGE, format!("--baseline {e}")),
    };
    let s = match sweep::load(&a.results[0], &a.stat) {
        Ok(s) => s,
        Err(e) => return fail(EXIT_ERROR, e),
    };
    let shown = match a.output {
        scaffold::cli::ReportFormat::Text => {
            sweep::render(&s, baseline.as_ref()).map(|t| print!("{t}"))
        }
        scaffold::cli::ReportFormat::Json => sweep::to_json(&s, baseline.as_ref())
            .map(|v| scaffold::ui::out(serde_json::to_string_pretty(&v).unwrap_or_default())),
    };
    if let Err(e) = shown {
        return fail(EXIT_USAGE, e);
    }
    if let Some(p) = &a.plot {
        if let Err(e) = report::plot::draw_sweep(&s, p, &a.metrics) {
            return fail(EXIT_ERROR, e);
        }
        scaffold::ui::err(format!("plot: {}", p.display()));
    }
    if thresholds.is_empty() {
        return EXIT_OK;
    }
    match sweep::check(&s, thresholds) {
        Ok((lines, failed)) => {
            eprint!("\nthresholds\n{lines}");
            if failed {
                fail(EXIT_ERROR, "a --fail-if condition holds".into())
            } else {
                EXIT_OK
            }
        }
        Err(e) => fail(EXIT_USAGE, e),
    }
}

fn script(a: ScriptArgs, kube: KubeOptions, verbose: bool) -> i32 {
    let usage = |msg: String| {
        scaffold::ui::err(format!("error: {msg}"));
        EXIT_USAGE
    };
    if !a.file.is_file() {
        return usage(format!("script {} does not exist", a.file.display()));
    }
    let mut params = serde_json::Map::new();
    for s in &a.set {
        match scaffold::util::parse_kv("--set", s) {
            Ok((k, v)) => {
                params.insert(k, serde_json::Value::String(v));
            }
            Err(e) => return usage(e),
        }
    }
    for s in &a.set_json {
        match scaffold::util::parse_kv("--set-json", s) {
            Ok((k, v)) => match serde_json::from_str(&v) {
                Ok(j) => {
                    params.insert(k, j);
                }
                Err(e) => return usage(format!("--set-json {s}: invalid JSON: {e}")),
            },
            Err(e) => return usage(e),
        }
    }
    for s in &a.set_secret {
        match scaffold::secrets::parse_arg(s) {
            Ok((k, v)) => {
                params.insert(k, serde_json::Value::String(v));
            }
            Err(e) => return usage(e),
        }
    }
    let mut break_at = Vec::new();
    for b in &a.break_at {
        match b
            .rsplit_once(':')
            .and_then(|(f, l)| Some((f, l.parse::<usize>().ok()?)))
        {
            Some((f, l)) if l > 0 => break_at.push((f.to_string(), l)),
            _ => {
                return usage(format!(
                    "--break-at {b}: expected FILE:LINE, e.g. main.rhai:12"
                ))
            }
        }
    }
    let abs = std::fs::canonicalize(&a.file).unwrap_or_else(|_| a.file.clone());
    let script_dir = abs.parent().unwrap_or(Path::new(".")).to_path_buf();
    let artifacts_parent = match &a.artifacts {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => std::env::current_dir().unwrap_or_default().join(p),
        None => script_dir.join("artifacts"),
    };
    let settings = Settings {
        script_display: a.file.display().to_string(),
        script_dir,
        params,
        args: a.args,
        artifacts_parent,
        verbose,
        breakpoints: !a.no_breakpoints && scaffold::ui::interactive(),
        break_at,
        kube,
        fixed_run_dir: a.run_dir.map(|d| {
            if d.is_absolute() {
                d
            } else {
                std::env::current_dir().unwrap_or_default().join(d)
            }
        }),
    };
    let rt = runtime();
    let interrupt = Interrupt::new();
    interrupt.install(rt.handle(), Mode::Script);
    let code = scaffold::engine::run::run_script(
        &a.file,
        settings,
        rt.handle(),
        interrupt,
        scaffold::repl::breakpoint::prompt,
    );
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}

fn check(files: &[PathBuf]) -> i32 {
    let (engine, resolver) = scaffold::engine::build(None);
    let mut checker = scaffold::engine::check::Checker::new(&engine, &resolver);
    for f in files {
        checker.check_file(f);
    }
    for f in &checker.findings {
        scaffold::ui::err(format!("{}: {}", f.location, f.message));
    }
    if checker.findings.is_empty() {
        scaffold::ui::err(format!("ok: {} file(s) checked", files.len()));
        EXIT_OK
    } else {
        scaffold::ui::err(format!("{} problem(s) found", checker.findings.len()));
        EXIT_ERROR
    }
}
