//! `scaffold ron`: the original toolkit's command, with its fixed names,
//! on the same [`Spec`] (and defaults) as `ron()` in scripts.

use crate::cli::RonArgs;
use crate::exit::{fail, ExitCode};
use crate::k8s::kubeconfig::KubeOptions;
use crate::k8s::ron::{self, Cleanup, Made, Spec};
use crate::ui;

/// The cleanup policy of the original's three flags.
fn policy(a: &RonArgs) -> Cleanup {
    match (a.cleanup_all, a.cleanup_pod, a.cleanup_pvc) {
        (true, _, _) | (_, true, true) => Cleanup::All,
        (_, true, false) => Cleanup::Pod,
        (_, false, true) => Cleanup::Pvc,
        _ => Cleanup::None,
    }
}

/// The spec of the flags; a usage error names the flag.
fn spec(a: &RonArgs) -> Result<Spec, String> {
    // one word with spaces is a shell line, as the original took it
    let argv = if a.cmd.len() == 1 && a.cmd[0].contains(' ') {
        vec!["sh".into(), "-c".into(), a.cmd[0].clone()]
    } else {
        a.cmd.clone()
    };
    let mut s = Spec::new(&a.node, argv, &crate::host::new_run_id());
    s.pod_name = a.pod_name.clone();
    s.image = a.pod_image.clone();
    s.namespace = a.namespace.clone();
    s.nsenter = a.nsenter;
    s.nsenter_binary = a.nsenter_binary.clone();
    s.nsenter_opts = a.nsenter_opts.clone();
    s.files = crate::k8s::ron::spec::read_mounts(&a.mounts)?;
    s.configmap_name = a.configmap_name.clone();
    s.pvc = a.pvc;
    s.pvc_name = a.pvc_name.clone();
    s.pvc_size = a.pvc_size.clone();
    s.pvc_access_mode = a.pvc_access_mode.clone();
    s.manage_pvc = a.manage_pvc;
    s.auto_copy = a.auto_copy;
    s.auto_copy_dest = a.auto_copy_dest.clone();
    s.cleanup = policy(a);
    s.retry_attempts = a.retry_attempts;
    s.retry_delay =
        super::parse_duration(&a.retry_delay).map_err(|e| format!("--retry-delay: {e}"))?;
    s.timeout = super::parse_duration(&a.timeout).map_err(|e| format!("--timeout: {e}"))?;
    s.show_events = a.show_events;
    Ok(s)
}

pub fn ron(
    a: &RonArgs,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
    interrupt: &crate::interrupt::Interrupt,
) -> ExitCode {
    if a.cmd.is_empty() && !a.cleanup_and_exit {
        return fail(
            ExitCode::USAGE,
            "give the command after --, e.g. scaffold ron --node kind-worker -- uname -a",
        );
    }
    let s = match spec(a) {
        Ok(s) => s,
        Err(e) => return fail(ExitCode::USAGE, e),
    };
    let client = match rt.block_on(super::connect(kube)) {
        Ok(c) => c.client,
        Err(e) => return fail(ExitCode::ERROR, format!("ron: {e}")),
    };
    if a.cleanup_and_exit {
        return cleanup_and_exit(&client, &s, rt);
    }
    let created = ron::new_created(&s);
    let out: ron::Out = std::sync::Arc::new(|l: &str| ui::out(l));
    let token = interrupt.token();
    let r = rt.block_on(async {
        tokio::select! {
            r = ron::run(&client, &s, created.clone(), out) => Some(r),
            _ = token.cancelled() => None,
        }
    });
    let done = created.lock().unwrap().clone();
    let left =
        interrupt.shielded(|| rt.block_on(ron::cleanup(&client, &done, &s.cleanup, s.manage_pvc)));
    for e in &left {
        ui::warn(&format!("cleanup: could not delete {e}; delete it with: scaffold ron --cleanup-and-exit --node {} (same names)", s.node));
    }
    match r {
        None => ExitCode::INTERRUPTED,
        Some(Err(e)) => fail(ExitCode::ERROR, format!("ron: {e}")),
        Some(Ok(o)) => {
            if let Some(p) = &o.artifacts {
                ui::err(format!("artifacts: {}", p.display()));
            }
            ui::err(format!("exit code: {}", o.code));
            ExitCode::of_command(o.code)
        }
    }
}

/// Delete what a run with these names would create, if it is ours.
fn cleanup_and_exit(client: &kube::Client, s: &Spec, rt: &tokio::runtime::Runtime) -> ExitCode {
    let mut names = vec![
        (Made::Pod, &s.pod_name),
        (Made::ConfigMap, &s.configmap_name),
    ];
    if s.manage_pvc {
        names.push((Made::Pvc, &s.pvc_name));
    }
    let mut n = 0;
    for (made, name) in names {
        let ns = &s.namespace;
        let Ok(item) = made.item(ns, name) else {
            continue;
        };
        let Ok(o) = rt.block_on(crate::k8s::http::get_json(client, &item)) else {
            continue;
        };
        if !crate::k8s::labels::ours(&o) {
            ui::err(format!(
                "skipped {} {ns}/{name}: not created by scaffold",
                made.plural()
            ));
            continue;
        }
        let run = o["metadata"]["labels"][ron::RUN_ID].as_str().unwrap_or("");
        match rt.block_on(ron::cleanup::delete_ours(client, made, ns, name, run)) {
            Ok(_) => {
                ui::out(format!("deleted {} {ns}/{name}", made.plural()));
                n += 1;
            }
            Err(e) => {
                let what = format!("cannot delete {} {ns}/{name}: {e}", made.plural());
                return fail(ExitCode::ERROR, what);
            }
        }
    }
    ui::err(format!("{n} object(s) deleted"));
    ExitCode::OK
}
