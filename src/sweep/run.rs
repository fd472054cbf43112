//! Running a sweep: each run is `scaffold script` as a child process (its
//! own Ctrl-C handling, cleanup and results.json), one at a time or one per
//! context with `--parallel`. The sweep forwards Ctrl-C to the running
//! runs (in their own process groups, so a terminal's Ctrl-C reaches them
//! once, through the sweep), records every outcome in sweep.json after each
//! run, and leaves the rest `pending` for `--resume`.

use super::{label, parse_axis, plan, Detect, Order, RunEntry, SweepFile, SCHEMA};
use crate::cli::{Global, Params, SweepArgs};
use crate::exit::{fail, ExitCode};
use crate::signals::{self, Signal};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How long a timed-out run may take to clean up after its Ctrl-C before it
/// gets the second one (its emergency path, a few seconds), then SIGKILL.
const CLEANUP_GRACE: Duration = Duration::from_secs(60);

/// What every run of this sweep is started with.
struct Launch {
    exe: PathBuf,
    dir: PathBuf,
    global: Global,
    /// secret parameters: name -> value, handed to runs in their environment
    secrets: Vec<(String, String)>,
    breakpoints: bool,
    parallel: usize,
    timeout: Option<Duration>,
    fail_fast: bool,
}

/// Shared between the workers and the Ctrl-C task.
struct State {
    file: Mutex<SweepFile>,
    /// why sweep.json could not be written (the sweep stops then)
    write_error: Mutex<Option<String>>,
    /// set on Ctrl-C or --fail-fast: start no more runs
    stop: AtomicBool,
    interrupts: AtomicUsize,
    /// process ids of running runs (each leads its own process group)
    running: Mutex<Vec<u32>>,
}

fn usage(msg: String) -> ExitCode {
    fail(ExitCode::USAGE, msg)
}

/// `--set`, `--set-json` and `--set-secret`, parsed once; a secret's name
/// must do as an environment variable's.
fn params(a: &SweepArgs) -> Result<Params, String> {
    let p = a.params.parse()?;
    for (k, _) in &p.secrets {
        let valid = !k.starts_with(|c: char| c.is_ascii_digit())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "--set-secret {k}: a sweep hands secrets to its runs in environment variables, so the name must be letters, digits and _"
            ));
        }
    }
    Ok(p)
}

/// A new sweep from the command line (validated), and its directory.
/// `--metrics-profile`, checked now (not at the end of the first run) and
/// made absolute for the runs.
fn metrics_profile(a: &SweepArgs) -> Result<Option<String>, String> {
    let Some(p) = &a.metrics_profile else {
        return Ok(None);
    };
    crate::api::forward::read_profile(p).map_err(|e| format!("--metrics-profile: {e}"))?;
    let abs = std::fs::canonicalize(p).map_err(|e| format!("--metrics-profile: {e}"))?;
    Ok(Some(abs.display().to_string()))
}

fn new_sweep(a: &SweepArgs, parsed: &Params) -> Result<(SweepFile, PathBuf), String> {
    let file = a.file.as_ref().ok_or("give the script to sweep")?;
    if !file.is_file() {
        return Err(format!("script {} does not exist", file.display()));
    }
    let axes = a
        .grid
        .iter()
        .map(|g| parse_axis(g))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, x) in axes.iter().enumerate() {
        if axes[..i].iter().any(|y| y.key == x.key) {
            return Err(format!(
                "--grid {}: given twice; list all its values in one --grid",
                x.key
            ));
        }
    }
    if a.repeat == 0 {
        return Err("--repeat 0: give at least 1".into());
    }
    let (detect, repeat) = detect_of(a)?;
    let (mut params, json_params) = (parsed.values.clone(), parsed.json_keys.clone());
    let secrets = &parsed.secrets;
    for (k, _) in secrets {
        params.insert(k.clone(), Value::String("<secret>".into()));
    }
    if let Some(x) = axes.iter().find(|x| params.contains_key(&x.key)) {
        return Err(format!(
            "{} is both a --grid parameter and a fixed one (--set); drop one",
            x.key
        ));
    }
    let run_timeout = a
        .run_timeout
        .as_deref()
        .map(crate::util::parse_duration)
        .transpose()
        .map_err(|e| format!("--run-timeout: {e}"))?;
    let metrics_profile = metrics_profile(a)?;
    let seed = a.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let abs = std::fs::canonicalize(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let parent = match &a.artifacts {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => std::env::current_dir().unwrap_or_default().join(p),
        None => abs.parent().unwrap_or(Path::new("/")).join("artifacts"),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let dir = crate::results::new_stamped_dir(&parent, "sweep-").map_err(|e| {
        format!(
            "cannot create a sweep directory in {}: {e}",
            parent.display()
        )
    })?;
    let f = SweepFile {
        schema: SCHEMA,
        script: abs.display().to_string(),
        created: crate::results::rfc3339(SystemTime::now()),
        runs: plan(&axes, repeat, a.order, seed),
        grid: axes,
        repeat,
        order: a.order,
        seed,
        params,
        json_params,
        secret_params: secrets.iter().map(|(k, _)| k.clone()).collect(),
        args: a.args.clone(),
        run_timeout: run_timeout.map(|d| d.as_secs_f64()),
        metrics_profile,
        detect,
        plan: None,
    };
    Ok((f, dir))
}

/// `--detect` with its pilot, checked, and the repeats to start with.
fn detect_of(a: &SweepArgs) -> Result<(Option<Detect>, u32), String> {
    let Some(c) = &a.detect else {
        return Ok((None, a.repeat));
    };
    let change = super::repeats::parse_change(c)?;
    if a.pilot < 2 {
        return Err(format!(
            "--pilot {}: the spread between runs needs at least 2 runs a point",
            a.pilot
        ));
    }
    if a.max_repeat < a.pilot {
        return Err(format!(
            "--max-repeat {} is below --pilot {}",
            a.max_repeat, a.pilot
        ));
    }
    let d = Detect {
        change,
        pilot: a.pilot,
        max_repeat: a.max_repeat,
        metrics: a.detect_metrics.clone(),
    };
    Ok((Some(d), a.pilot))
}

/// After the pilot of a `--detect` sweep: the plan (said and kept in
/// sweep.json), its runs added; the runs still to go. None when there is
/// nothing to plan (no --detect, planned already, or the pilot did not
/// finish).
fn plan_rest(state: &State, dir: &Path) -> Result<Option<Vec<usize>>, String> {
    let mut f = state.file.lock().unwrap().clone();
    let (Some(d), None) = (f.detect.clone(), &f.plan) else {
        return Ok(None);
    };
    if state.stop.load(Ordering::SeqCst) || f.runs.iter().any(|r| r.status == "pending") {
        return Ok(None);
    }
    let p = super::repeats::make_plan(dir, &f, &d)?;
    crate::ui::err(format!("sweep: {}", p.reasoning));
    if p.capped {
        crate::ui::warn(&format!(
            "sweep: a series needs more than --max-repeat {} runs a point to find a {}% change: \
             the sweep runs {} and may miss it (raise --max-repeat, or --detect a larger change)",
            d.max_repeat,
            crate::util::short_num(d.change * 100.0),
            p.repeat
        ));
    }
    super::repeats::extend(&mut f, p.repeat);
    f.plan = Some(p);
    if !save(state, &f, dir) {
        return Ok(None);
    }
    let todo = announce(&f, dir);
    *state.file.lock().unwrap() = f;
    Ok(Some(todo))
}

/// The sweep of `--resume DIR`, its unfinished runs set back to pending.
fn resumed(a: &SweepArgs, dir: &Path, secrets: &[(String, String)]) -> Result<SweepFile, String> {
    if !a.grid.is_empty()
        || !a.params.set.is_empty()
        || !a.params.set_json.is_empty()
        || a.repeat != 1
    {
        return Err("--resume continues the sweep as sweep.json recorded it; drop --grid, --repeat, --set and --set-json".into());
    }
    let mut f = SweepFile::read(dir)?;
    if let Some(t) = f.run_timeout {
        crate::util::duration_from_secs(t).map_err(|e| {
            format!(
                "{}: run_timeout {e}; fix it or remove the key",
                dir.join("sweep.json").display()
            )
        })?;
    }
    for k in &f.secret_params {
        if !secrets.iter().any(|(s, _)| s == k) {
            return Err(format!(
                "the sweep has the secret parameter {k}, which is never written: give --set-secret {k}=VALUE (or export {k} and give --set-secret {k}) again"
            ));
        }
    }
    if !Path::new(&f.script).is_file() {
        return Err(format!("the sweep's script {} is gone", f.script));
    }
    if let Some(c) = &a.detect {
        // the runs the sweep has are the pilot
        if f.plan.is_some() {
            return Err("the sweep's repeats were planned already (sweep.json \"plan\"); resume without --detect".into());
        }
        f.detect = Some(Detect {
            change: super::repeats::parse_change(c)?,
            pilot: f.repeat,
            max_repeat: a.max_repeat.max(f.repeat),
            metrics: a.detect_metrics.clone(),
        });
    }
    for r in &mut f.runs {
        if let Some(pid) = r
            .pid
            .filter(|p| r.status == "running" && signals::alive(*p))
        {
            return Err(format!(
                "run {} ({}) is still running as process {pid}: wait for it or stop it (kill -INT {pid}), then resume",
                r.index, r.dir
            ));
        }
        if matches!(r.status.as_str(), "running" | "interrupted") {
            r.status = "pending".into();
            (r.pid, r.pgid) = (None, None);
        }
    }
    Ok(f)
}

/// The runs still to go, said on the terminal with the sweep's shape.
fn announce(file: &SweepFile, dir: &Path) -> Vec<usize> {
    let todo: Vec<usize> = file
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == "pending")
        .map(|(i, _)| i)
        .collect();
    let order = match file.order {
        Order::Interleaved => "interleaved".to_string(),
        Order::Grouped => "grouped".to_string(),
        Order::Random => format!("random, seed {}", file.seed),
    };
    crate::ui::err(format!(
        "sweep: {} run(s) to go of {} ({} grid point(s) × {} repeat(s), {order}), in {}",
        todo.len(),
        file.runs.len(),
        super::points(&file.grid).len(),
        file.repeat,
        dir.display()
    ));
    todo
}

/// `--parallel` with its `--contexts`, checked.
fn check_parallel(a: &SweepArgs) -> Result<(), String> {
    if a.parallel == 0 {
        return Err("--parallel 0: give at least 1".into());
    }
    if a.parallel > 1 && a.contexts.len() < a.parallel {
        return Err(format!(
            "--parallel {} needs as many clusters: give --contexts with {} kubeconfig contexts (a cluster runs one run at a time)",
            a.parallel, a.parallel
        ));
    }
    if a.parallel > 1 && a.breakpoints {
        return Err(
            "--break stops at breakpoints on this terminal: use it without --parallel".into(),
        );
    }
    if let Some(c) = a.contexts.iter().find(|c| c.trim().is_empty()) {
        return Err(format!("--contexts: an empty context name ({c:?})"));
    }
    Ok(())
}

/// `scaffold sweep`
pub fn sweep(a: &SweepArgs, g: &Global) -> ExitCode {
    let parsed = match params(a) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    if let Err(e) = check_parallel(a) {
        return usage(e);
    }
    let resumed_or_new = match &a.resume {
        Some(dir) => resumed(a, dir, &parsed.secrets).map(|f| (f, dir.clone())),
        None => new_sweep(a, &parsed),
    };
    let (file, dir) = match resumed_or_new {
        Ok(x) => x,
        Err(e) => return usage(e),
    };
    if let Err(e) = file.write(&dir) {
        return fail(ExitCode::ERROR, e);
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            return fail(
                ExitCode::ERROR,
                format!("cannot find the scaffold binary: {e}"),
            )
        }
    };
    let launch = Arc::new(Launch {
        exe,
        dir: dir.clone(),
        global: g.clone(),
        secrets: parsed.secrets,
        breakpoints: a.breakpoints,
        parallel: a.parallel,
        // checked when read (new sweeps parse --run-timeout, --resume checks the file)
        timeout: file
            .run_timeout
            .and_then(|t| crate::util::duration_from_secs(t).ok()),
        fail_fast: a.fail_fast,
    });
    let todo = announce(&file, &dir);
    let total = file.runs.len();
    let state = Arc::new(State {
        file: Mutex::new(file),
        write_error: Mutex::new(None),
        stop: AtomicBool::new(false),
        interrupts: AtomicUsize::new(0),
        running: Mutex::new(vec![]),
    });
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(ExitCode::ERROR, format!("cannot start: {e}")),
    };
    let started = Instant::now();
    rt.block_on(run_all(a, g, &state, &launch, todo, total));
    let planned = plan_rest(&state, &dir);
    if let Ok(Some(todo)) = &planned {
        let total = state.file.lock().unwrap().runs.len();
        rt.block_on(run_all(a, g, &state, &launch, todo.clone(), total));
    }
    finish(&state, &dir, started, planned.err())
}

/// sweep.json once more, the closing lines, and the exit code (a plan that
/// could not be made, or a sweep.json that could not be written, is 1).
fn finish(state: &State, dir: &Path, started: Instant, plan_error: Option<String>) -> ExitCode {
    let f = state.file.lock().unwrap().clone();
    save(state, &f, dir);
    let code = summary(
        &f,
        dir,
        started.elapsed(),
        state.interrupts.load(Ordering::SeqCst) > 0,
    );
    if let Some(e) = plan_error {
        return fail(ExitCode::ERROR, format!("sweep: {e}"));
    }
    let write_error = state.write_error.lock().unwrap().take();
    match write_error {
        Some(e) => fail(
            ExitCode::ERROR,
            format!(
                "{e}; the sweep stopped. Make the file writable, then: scaffold sweep --resume {}",
                dir.display()
            ),
        ),
        None => code,
    }
}

/// Write sweep.json; when that fails, say so once and stop the sweep (a
/// sweep whose record is stale could run a point twice on `--resume`).
fn save(state: &State, f: &SweepFile, dir: &Path) -> bool {
    match f.write(dir) {
        Ok(()) => true,
        Err(e) => {
            state.stop.store(true, Ordering::SeqCst);
            let mut slot = state.write_error.lock().unwrap();
            if slot.is_none() {
                crate::ui::err(format!("error: {e}"));
                *slot = Some(e);
            }
            false
        }
    }
}

/// Every run of `todo` by `--parallel` workers, each on its context, with
/// Ctrl-C passed on to the runs.
async fn run_all(
    a: &SweepArgs,
    g: &Global,
    state: &Arc<State>,
    launch: &Arc<Launch>,
    todo: Vec<usize>,
    total: usize,
) {
    watch_signals(state.clone(), launch.clone());
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(todo)));
    let contexts: Vec<Option<String>> = if a.contexts.is_empty() {
        vec![g.context.clone()]
    } else {
        a.contexts
            .iter()
            .map(|c| Some(c.trim().to_string()))
            .collect()
    };
    let workers = (0..a.parallel).map(|w| {
        let (state, launch, queue) = (state.clone(), launch.clone(), queue.clone());
        let ctx = contexts[w % contexts.len()].clone();
        async move { worker(state, launch, queue, ctx, total).await }
    });
    futures::future::join_all(workers).await;
}

/// The closing lines and the exit code: 130 after Ctrl-C, 1 when a run
/// failed or timed out, else 0.
fn summary(f: &SweepFile, dir: &Path, took: Duration, interrupted: bool) -> ExitCode {
    let count = |s: &str| f.runs.iter().filter(|r| r.status == s).count();
    let (ok, failed, timeout, left) = (
        count("ok"),
        count("failed"),
        count("timeout"),
        count("pending") + count("interrupted") + count("running"),
    );
    crate::ui::err(format!(
        "sweep: {} run(s): {ok} ok, {failed} failed, {timeout} timed out, {left} not run, in {:.1} s",
        f.runs.len(),
        took.as_secs_f64()
    ));
    crate::ui::err(format!("compare them: scaffold report {}", dir.display()));
    if left > 0 {
        crate::ui::err(format!(
            "continue it: scaffold sweep --resume {}",
            dir.display()
        ));
    }
    if interrupted {
        ExitCode::INTERRUPTED
    } else {
        ExitCode::failed_if(failed + timeout > 0)
    }
}

/// First Ctrl-C (or SIGTERM): start no more runs and pass the Ctrl-C on to
/// the running ones, which clean up; the second one passes on too (their
/// emergency exit).
fn watch_signals(state: Arc<State>, launch: Arc<Launch>) {
    let Ok(mut signals) = crate::signals::Interrupts::new() else {
        crate::ui::warn("cannot install the Ctrl-C handler");
        return;
    };
    tokio::spawn(async move {
        loop {
            signals.recv().await;
            let n = state.interrupts.fetch_add(1, Ordering::SeqCst) + 1;
            state.stop.store(true, Ordering::SeqCst);
            if n == 1 {
                crate::ui::err("interrupted: no more runs; the running run cleans up (Ctrl-C again to make it exit now)");
            }
            // with --break the runs share the terminal's process group and
            // got this Ctrl-C themselves
            if !launch.breakpoints {
                for pid in state.running.lock().unwrap().iter() {
                    signals::signal_process(*pid, Signal::Int);
                }
            }
        }
    });
}

async fn worker(
    state: Arc<State>,
    launch: Arc<Launch>,
    queue: Arc<Mutex<std::collections::VecDeque<usize>>>,
    ctx: Option<String>,
    total: usize,
) {
    loop {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Some(i) = queue.lock().unwrap().pop_front() else {
            return;
        };
        let entry = {
            let mut f = state.file.lock().unwrap();
            let r = &mut f.runs[i];
            // a directory left by an earlier attempt stays as it was
            let base = format!("run-{:03}", r.index);
            let mut d = base.clone();
            let mut n = 1;
            while launch.dir.join(&d).exists() {
                n += 1;
                d = format!("{base}.{n}");
            }
            r.dir = d;
            r.status = "running".into();
            r.start = Some(crate::results::rfc3339(SystemTime::now()));
            r.context = ctx.clone();
            if !save(&state, &f, &launch.dir) {
                f.runs[i].status = "pending".into();
                return;
            }
            f.runs[i].clone()
        };
        let script = state.file.lock().unwrap().script.clone();
        crate::ui::err(format!(
            "== sweep run {}/{total}: {} (repeat {}){}",
            entry.index,
            label(&entry.point),
            entry.repeat,
            ctx.as_deref()
                .map(|c| format!(" on {c}"))
                .unwrap_or_default()
        ));
        let t = Instant::now();
        let (status, code) = run_one(&state, &launch, &script, &entry, ctx.as_deref()).await;
        let took = t.elapsed().as_secs_f64();
        {
            let mut f = state.file.lock().unwrap();
            let r = &mut f.runs[i];
            r.status = status.to_string();
            r.exit_code = code;
            r.duration = Some(took);
            (r.pid, r.pgid) = (None, None);
            save(&state, &f, &launch.dir);
        }
        crate::ui::err(format!(
            "== sweep run {}/{total}: {} (repeat {}): {status}{} in {took:.1} s",
            entry.index,
            label(&entry.point),
            entry.repeat,
            code.filter(|c| *c != 0)
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default()
        ));
        if launch.fail_fast && matches!(status, "failed" | "timeout") {
            crate::ui::err("--fail-fast: stopping the sweep");
            state.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// The command line of one run.
fn command(
    launch: &Launch,
    script: &str,
    f: &SweepFile,
    r: &RunEntry,
    ctx: Option<&str>,
) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(&launch.exe);
    let g = &launch.global;
    if let Some(k) = &g.kubeconfig {
        c.arg("--kubeconfig").arg(k);
    }
    if let Some(ctx) = ctx {
        c.args(["--context", ctx]);
    }
    if let Some(q) = g.qps {
        c.arg(format!("--qps={q}"));
    }
    if let Some(b) = g.burst {
        c.arg(format!("--burst={b}"));
    }
    if g.verbose {
        c.arg("-v");
    }
    c.arg("script").arg(script);
    c.arg("--run-dir").arg(launch.dir.join(&r.dir));
    if !launch.breakpoints {
        c.arg("--no-breakpoints");
    }
    for (k, v) in f.params.iter().chain(r.point.iter()) {
        if f.secret_params.contains(k) {
            continue;
        }
        if f.json_params.contains(k) {
            c.arg("--set-json").arg(format!("{k}={v}"));
        } else {
            c.arg("--set").arg(format!("{k}={}", crate::util::plain(v)));
        }
    }
    // secrets travel in a private file the run reads and removes, never in
    // the environment every command of the run would inherit
    for (k, _) in &launch.secrets {
        c.arg("--set-secret").arg(k);
        c.env_remove(k);
    }
    if let Some(p) = &f.metrics_profile {
        c.arg("--metrics-profile").arg(p);
    }
    if !f.args.is_empty() {
        c.arg("--").args(&f.args);
    }
    if !launch.breakpoints {
        // the sweep passes Ctrl-C on, exactly once per press
        c.process_group(0);
        c.stdin(std::process::Stdio::null());
    }
    c
}

/// Run one run to its end: its status and exit code.
async fn run_one(
    state: &State,
    launch: &Launch,
    script: &str,
    r: &RunEntry,
    ctx: Option<&str>,
) -> (&'static str, Option<i32>) {
    let f = state.file.lock().unwrap().clone();
    let mut c = command(launch, script, &f, r, ctx);
    // removed by the run when it reads it, else when this ends
    let Ok(_secrets) = hand_secrets(launch, &mut c, r) else {
        return ("failed", None);
    };
    if launch.parallel > 1 && own_log(launch, &mut c, r).is_err() {
        return ("failed", None);
    }
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            crate::ui::err(format!("error: cannot start {}: {e}", launch.exe.display()));
            return ("failed", None);
        }
    };
    let pid = child.id().unwrap_or(0);
    state.running.lock().unwrap().push(pid);
    record_pid(state, launch, r, pid);
    let (status, timed_out) = wait_run(&mut child, launch, r, pid).await;
    state.running.lock().unwrap().retain(|p| *p != pid);
    let code = status.ok().and_then(|s| {
        use std::os::unix::process::ExitStatusExt;
        s.code().or_else(|| s.signal().map(|n| 128 + n))
    });
    let status = if timed_out {
        "timeout"
    } else if code == Some(0) {
        "ok"
    } else if code == Some(130) && state.interrupts.load(Ordering::SeqCst) > 0 {
        "interrupted"
    } else {
        "failed"
    };
    (status, code)
}

/// The secrets to the run through a 0600 file it reads and removes (the
/// guard removes it otherwise); an error is said.
fn hand_secrets(
    launch: &Launch,
    c: &mut tokio::process::Command,
    r: &RunEntry,
) -> Result<Option<tempfile::TempPath>, ()> {
    if launch.secrets.is_empty() {
        return Ok(None);
    }
    match crate::secrets::handoff(&launch.secrets) {
        Ok(p) => {
            c.env(crate::secrets::SECRETS_FILE, &*p);
            Ok(Some(p))
        }
        Err(e) => {
            crate::ui::err(format!(
                "error: cannot hand the secrets to run {}: {e}",
                r.index
            ));
            Err(())
        }
    }
}

/// Side by side, the runs' output would interleave: each to its own
/// `output.log`; an error is said.
fn own_log(launch: &Launch, c: &mut tokio::process::Command, r: &RunEntry) -> Result<(), ()> {
    let dir = launch.dir.join(&r.dir);
    let log =
        std::fs::create_dir_all(&dir).and_then(|_| std::fs::File::create(dir.join("output.log")));
    match log.and_then(|l| Ok((l.try_clone()?, l))) {
        Ok((o, e)) => {
            c.stdout(o).stderr(e);
            Ok(())
        }
        Err(e) => {
            crate::ui::err(format!(
                "error: cannot write {}/output.log: {e}",
                dir.display()
            ));
            Err(())
        }
    }
}

/// Record the run's process in sweep.json, so `--resume` after a crash of
/// the sweep never starts it twice.
fn record_pid(state: &State, launch: &Launch, r: &RunEntry, pid: u32) {
    let mut f = state.file.lock().unwrap();
    if let Some(e) = f.runs.iter_mut().find(|x| x.index == r.index) {
        e.pid = Some(pid);
        e.pgid = (!launch.breakpoints).then_some(pid);
    }
    save(state, &f, &launch.dir);
}

/// Wait for the run, interrupting it after `--run-timeout`: its exit, and
/// whether it timed out.
async fn wait_run(
    child: &mut tokio::process::Child,
    launch: &Launch,
    r: &RunEntry,
    pid: u32,
) -> (std::io::Result<std::process::ExitStatus>, bool) {
    let Some(t) = launch.timeout else {
        return (child.wait().await, false);
    };
    match tokio::time::timeout(t, child.wait()).await {
        Ok(s) => (s, false),
        Err(_) => {
            crate::ui::err(format!(
                "run {} took longer than --run-timeout ({} s): interrupting it (it cleans up)",
                r.index,
                t.as_secs_f64()
            ));
            (stop(child, pid).await, true)
        }
    }
}

/// Ctrl-C to a run, time to clean up, a second Ctrl-C, then SIGKILL to its
/// process group.
async fn stop(
    child: &mut tokio::process::Child,
    pid: u32,
) -> std::io::Result<std::process::ExitStatus> {
    signals::signal_process(pid, Signal::Int);
    if let Ok(s) = tokio::time::timeout(CLEANUP_GRACE, child.wait()).await {
        return s;
    }
    signals::signal_process(pid, Signal::Int);
    if let Ok(s) = tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        return s;
    }
    signals::signal_group(pid, Signal::Kill);
    child.wait().await
}
