//! `scaffold ron` (the original toolkit's command, with its fixed names) and
//! `scaffold cleanup`.

use crate::cli::RonArgs;
use crate::k8s::kubeconfig::KubeOptions;
use crate::k8s::ron::{self, Cleanup, Created, Spec};
use std::sync::{Arc, Mutex};

pub fn ron(
    a: &RonArgs,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
    interrupt: &crate::interrupt::Interrupt,
) -> i32 {
    let usage = |m: String| {
        eprintln!("error: {m}");
        2
    };
    if a.cmd.is_empty() && !a.cleanup_and_exit {
        return usage(
            "give the command after --, e.g. scaffold ron --node kind-worker -- uname -a".into(),
        );
    }
    let retry_delay = match super::parse_duration(&a.retry_delay) {
        Ok(d) => d,
        Err(e) => return usage(format!("--retry-delay: {e}")),
    };
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    for m in &a.mounts {
        let base = m
            .file_name()
            .map(|b| b.to_string_lossy().to_string())
            .unwrap_or_default();
        if files.iter().any(|(b, _)| *b == base) {
            return usage(format!(
                "two mounted files have the base name '{base}'; rename one"
            ));
        }
        match std::fs::read(m) {
            Ok(b) => files.push((base, b)),
            Err(e) => return usage(format!("cannot read mount {}: {e}", m.display())),
        }
    }
    let cleanup = if a.cleanup_all || (a.cleanup_pod && a.cleanup_pvc) {
        Cleanup::All
    } else if a.cleanup_pod {
        Cleanup::Pod
    } else if a.cleanup_pvc {
        Cleanup::Pvc
    } else {
        Cleanup::None
    };
    let argv = if a.cmd.len() == 1 && a.cmd[0].contains(' ') {
        vec!["sh".into(), "-c".into(), a.cmd[0].clone()]
    } else {
        a.cmd.clone()
    };
    let spec = Spec {
        node: a.node.clone(),
        argv,
        pod_name: a.pod_name.clone(),
        image: a.pod_image.clone(),
        namespace: a.namespace.clone(),
        nsenter: a.nsenter,
        nsenter_binary: a.nsenter_binary.clone(),
        nsenter_opts: a.nsenter_opts.clone(),
        files,
        configmap_name: a.configmap_name.clone(),
        pvc: a.pvc,
        pvc_name: a.pvc_name.clone(),
        pvc_size: a.pvc_size.clone(),
        pvc_access_mode: a.pvc_access_mode.clone(),
        manage_pvc: a.manage_pvc,
        auto_copy: a.auto_copy,
        auto_copy_dest: a.auto_copy_dest.clone(),
        cleanup,
        retry_attempts: a.retry_attempts,
        retry_delay,
        show_events: a.show_events,
        run_id: crate::host::new_run_id(),
        timeout: std::time::Duration::from_secs(24 * 3600),
        prefix: String::new(),
    };
    let client = match rt.block_on(super::connect(kube)) {
        Ok(c) => c.client,
        Err(e) => {
            eprintln!("error: ron: {e}");
            return 1;
        }
    };
    if a.cleanup_and_exit {
        // what a run would create, if it is ours
        let mut n = 0;
        for (kind, name) in [
            ("pods", &a.pod_name),
            ("configmaps", &a.configmap_name),
            ("persistentvolumeclaims", &a.pvc_name),
        ] {
            if kind == "persistentvolumeclaims" && !a.manage_pvc {
                continue;
            }
            let path = format!("/api/v1/namespaces/{}/{kind}/{name}", a.namespace);
            if let Ok(o) = rt.block_on(crate::k8s::http::get_json(&client, &path)) {
                if o["metadata"]["labels"][ron::MANAGED_BY] == "scaffold" {
                    if let Err(e) =
                        rt.block_on(ron::delete_found(&client, kind, &a.namespace, name))
                    {
                        eprintln!("error: cannot delete {kind} {}/{name}: {e}", a.namespace);
                        return 1;
                    }
                    println!("deleted {kind} {}/{name}", a.namespace);
                    n += 1;
                } else {
                    eprintln!(
                        "skipped {kind} {}/{name}: not created by scaffold",
                        a.namespace
                    );
                }
            }
        }
        eprintln!("{n} object(s) deleted");
        return 0;
    }
    let created = Arc::new(Mutex::new(Created::default()));
    let out: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|l: &str| crate::ui::out(l));
    let token = interrupt.token();
    let r = rt.block_on(async {
        tokio::select! {
            r = ron::run(&client, &spec, created.clone(), out) => Some(r),
            _ = token.cancelled() => None,
        }
    });
    let done = created.lock().unwrap().clone();
    for e in rt.block_on(ron::cleanup(
        &client,
        &spec.namespace,
        &done,
        &spec.cleanup,
        spec.manage_pvc,
    )) {
        eprintln!("warning: cleanup: {e}");
    }
    match r {
        None => 130,
        Some(Err(e)) => {
            eprintln!("error: ron: {e}");
            1
        }
        Some(Ok(o)) => {
            if let Some(p) = &o.artifacts {
                eprintln!("artifacts: {}", p.display());
            }
            eprintln!("exit code: {}", o.code);
            o.code
        }
    }
}

pub fn cleanup(
    run: Option<&str>,
    dry_run: bool,
    kube: &KubeOptions,
    rt: &tokio::runtime::Runtime,
) -> i32 {
    let r = rt.block_on(async {
        let c = super::connect(kube).await?;
        let found = ron::find_ours(&c.client, run)
            .await
            .map_err(|e| e.to_string())?;
        let mut n = 0;
        for (kind, ns, name, id) in &found {
            if dry_run {
                println!("would delete {kind} {ns}/{name} (run {id})");
                continue;
            }
            ron::delete_found(&c.client, kind, ns, name)
                .await
                .map_err(|e| format!("cannot delete {kind} {ns}/{name}: {e}"))?;
            println!("deleted {kind} {ns}/{name} (run {id})");
            n += 1;
        }
        Ok::<_, String>((found.len(), n))
    });
    match r {
        Ok((found, n)) => {
            if dry_run {
                eprintln!("{found} object(s) would be deleted");
            } else {
                eprintln!("{n} object(s) deleted");
            }
            0
        }
        Err(e) => {
            eprintln!("error: cleanup: {e}");
            1
        }
    }
}
