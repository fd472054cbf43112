//! `scaffold cleanup`: what scaffold created by itself, by label, in every
//! kind: the runs and their ages first, then the objects, then deleted
//! (namespaces last). `--older-than` leaves runs that are still going on
//! alone; `--run` picks one run.

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

fn show_runs(found: &[Found]) {
    let runs = labelled::by_run(found);
    if runs.is_empty() {
        return;
    }
    ui::err(format!("{} run(s):", runs.len()));
    for (run, (n, oldest)) in runs {
        let run = if run.is_empty() {
            "(no run id)".to_string()
        } else {
            run
        };
        ui::err(format!(
            "  {run:<12} {n:>4} object(s), oldest {} old",
            age(oldest)
        ));
    }
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
        let mut found = labelled::find(&c.client, &disc, run)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(min) = min_age {
            found.retain(|f| f.age.is_some_and(|a| a >= min));
        }
        show_runs(&found);
        // namespaces last: deleting one deletes what is in it
        found.sort_by_key(|f| f.resource.kind == "Namespace");
        let mut n = 0;
        for f in &found {
            let line = format!("{} (run {}, {} old)", f.describe(), f.run_id, age(f.age));
            if dry_run {
                ui::out(format!("would delete {line}"));
                continue;
            }
            labelled::delete(&c.client, f)
                .await
                .map_err(|e| format!("cannot delete {}: {e}", f.describe()))?;
            ui::out(format!("deleted {line}"));
            n += 1;
        }
        Ok::<_, String>((found.len(), n))
    });
    match r {
        Ok((found, _)) if dry_run => {
            ui::err(format!("{found} object(s) would be deleted"));
            ExitCode::OK
        }
        Ok((_, n)) => {
            ui::err(format!("{n} object(s) deleted"));
            ExitCode::OK
        }
        Err(e) => fail(ExitCode::ERROR, format!("cleanup: {e}")),
    }
}
