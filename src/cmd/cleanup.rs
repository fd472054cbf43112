//! `scaffold cleanup`: what scaffold created by itself, by label, in every
//! kind: the runs and their ages first, then the objects, then deleted
//! (namespaces last). A run is kept or deleted whole: `--older-than` goes
//! by when the run started (its label), and a run whose process is still
//! alive on this machine is always left alone; `--run` picks one run. A
//! delete that fails is reported and the rest go on (exit 1 at the end).

use crate::exit::{fail, ExitCode};
use crate::k8s::discovery::Discovery;
use crate::k8s::kubeconfig::KubeOptions;
use crate::k8s::labelled::{self, Found};
use crate::ui;
use std::time::Duration;

fn age(d: Option<Duration>) -> String {
    match d {
        None => "?".into(),
        Some(d) if d.as_secs() < 120 => format!("{}s", d.as_secs()),
        Some(d) if d.as_secs() < 7200 => format!("{}m", d.as_secs() / 60),
        Some(d) if d.as_secs() < 172_800 => format!("{}h", d.as_secs() / 3600),
        Some(d) => format!("{}d", d.as_secs() / 86_400),
    }
}

fn show_runs(runs: &std::collections::BTreeMap<String, labelled::Run>) {
    if runs.is_empty() {
        return;
    }
    ui::err(format!("{} run(s):", runs.len()));
    for (id, r) in runs {
        let id = if id.is_empty() {
            "(no run id)".to_string()
        } else {
            id.clone()
        };
        let since = match r.started {
            Some(_) => "started",
            None => "oldest object",
        };
        ui::err(format!(
            "  {id:<12} {:>4} object(s), {since} {} ago",
            r.objects,
            age(r.age())
        ));
    }
}

/// The runs to leave alone: alive on this machine, or (with `min`) not
/// that old; each said.
fn spared(
    runs: &std::collections::BTreeMap<String, labelled::Run>,
    min: Option<Duration>,
) -> std::collections::BTreeSet<String> {
    let mut keep = std::collections::BTreeSet::new();
    for (id, r) in runs {
        if r.alive_here() {
            ui::warn(&format!(
                "run {id} is still running on this machine (pid {}): left alone; stop it and it deletes what it made",
                r.pid.unwrap_or(0)
            ));
            keep.insert(id.clone());
        } else if let Some(min) = min {
            if r.age().is_none_or(|a| a < min) {
                keep.insert(id.clone());
            }
        }
    }
    keep
}

pub fn cleanup(
    run: Option<&str>,
    dry_run: bool,
    older_than: Option<&str>,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
) -> ExitCode {
    let min_age = match older_than.map(super::parse_duration).transpose() {
        Ok(d) => d,
        Err(e) => return fail(ExitCode::USAGE, format!("--older-than: {e}")),
    };
    let r = rt.block_on(async {
        let c = super::connect(kube).await?;
        let disc = Discovery::run(&c.client)
            .await
            .map_err(|e| format!("discovery: {e}"))?;
        let mut found: Vec<Found> = labelled::find(&c.client, &disc, run)
            .await
            .map_err(|e| e.to_string())?;
        let keep = spared(&labelled::by_run(&found), min_age);
        found.retain(|f| !keep.contains(&f.run_id));
        show_runs(&labelled::by_run(&found));
        // namespaces last: deleting one deletes what is in it
        found.sort_by_key(|f| f.resource.kind == "Namespace");
        let (mut deleted, mut failed) = (0, 0);
        for f in &found {
            let line = format!("{} (run {}, {} old)", f.describe(), f.run_id, age(f.age));
            if dry_run {
                ui::out(format!("would delete {line}"));
                continue;
            }
            match labelled::delete(&c.client, f).await {
                Ok(()) => {
                    ui::out(format!("deleted {line}"));
                    deleted += 1;
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    ui::err(format!("error: cannot delete {}: {e}", f.describe()));
                    failed += 1;
                }
            }
        }
        Ok::<_, String>((found.len(), deleted, failed))
    });
    match r {
        Ok((found, _, _)) if dry_run => {
            ui::err(format!("{found} object(s) would be deleted"));
            ExitCode::OK
        }
        Ok((_, n, 0)) => {
            ui::err(format!("{n} object(s) deleted"));
            ExitCode::OK
        }
        Ok((_, n, failed)) => fail(
            ExitCode::ERROR,
            format!("cleanup: {n} object(s) deleted, {failed} could not be (see above)"),
        ),
        Err(e) => fail(ExitCode::ERROR, format!("cleanup: {e}")),
    }
}
