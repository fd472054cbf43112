//! Where the kubeconfig comes from: `-k`, `KUBECONFIG`, `./kubeconfig`,
//! `~/.kube/config`, in-cluster service account, in that order.

use std::path::{Path, PathBuf};

/// How the user pointed us at a cluster (global CLI flags).
#[derive(Clone, Debug, Default)]
pub struct KubeOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub qps: Option<f64>,
    pub burst: Option<u32>,
}

/// The place the kubeconfig was found.
#[derive(Clone, Debug, PartialEq)]
pub enum KubeSource {
    /// `-k/--kubeconfig PATH`
    Flag(PathBuf),
    /// `KUBECONFIG` (may list several files, merged like kubectl does)
    Env(Vec<PathBuf>),
    /// `./kubeconfig`
    Cwd(PathBuf),
    /// `~/.kube/config`
    Home(PathBuf),
    /// the pod's service account
    InCluster,
}

impl KubeSource {
    /// Files to read, in merge order (empty for in-cluster).
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            KubeSource::Flag(p) | KubeSource::Cwd(p) | KubeSource::Home(p) => vec![p.clone()],
            KubeSource::Env(v) => v.clone(),
            KubeSource::InCluster => vec![],
        }
    }

    /// Value for `KUBECONFIG` in child processes (absolute paths).
    pub fn env_value(&self) -> Option<String> {
        let files = self.files();
        if files.is_empty() {
            return None;
        }
        let parts: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        Some(parts.join(":"))
    }

    pub fn describe(&self) -> String {
        match self {
            KubeSource::Flag(p) => format!("{} (from -k)", p.display()),
            KubeSource::Env(v) => format!(
                "{} (from KUBECONFIG)",
                v.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            ),
            KubeSource::Cwd(p) => format!("{} (./kubeconfig)", p.display()),
            KubeSource::Home(p) => format!("{} (~/.kube/config)", p.display()),
            KubeSource::InCluster => "in-cluster service account".into(),
        }
    }
}

/// The environment resolution looks at, passed in so tests can fake it.
pub struct Lookup<'a> {
    pub flag: Option<&'a Path>,
    pub env_kubeconfig: Option<String>,
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    pub in_cluster: bool,
}

impl Lookup<'_> {
    /// Read the real process environment.
    pub fn from_env(flag: Option<&Path>) -> Lookup<'_> {
        Lookup {
            flag,
            env_kubeconfig: std::env::var("KUBECONFIG").ok().filter(|s| !s.is_empty()),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            home: std::env::var_os("HOME").map(PathBuf::from),
            in_cluster: std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
                && Path::new("/var/run/secrets/kubernetes.io/serviceaccount/token").exists(),
        }
    }
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// Resolve the kubeconfig. The error lists every place that was tried.
pub fn resolve(l: &Lookup) -> Result<KubeSource, String> {
    let mut tried = Vec::new();
    match l.flag {
        Some(p) => {
            let p = absolute(&l.cwd, p);
            if p.is_file() {
                return Ok(KubeSource::Flag(p));
            }
            return Err(format!(
                "kubeconfig given with -k/--kubeconfig does not exist: {}",
                p.display()
            ));
        }
        None => tried.push("-k/--kubeconfig (not given)".to_string()),
    }
    match &l.env_kubeconfig {
        Some(v) => {
            let files: Vec<PathBuf> = v
                .split(':')
                .filter(|s| !s.is_empty())
                .map(|s| absolute(&l.cwd, Path::new(s)))
                .collect();
            let existing: Vec<PathBuf> = files.iter().filter(|p| p.is_file()).cloned().collect();
            if !existing.is_empty() {
                return Ok(KubeSource::Env(existing));
            }
            tried.push(format!("KUBECONFIG={v} (no such file)"));
        }
        None => tried.push("KUBECONFIG (unset)".to_string()),
    }
    let cwd_cfg = l.cwd.join("kubeconfig");
    if cwd_cfg.is_file() {
        return Ok(KubeSource::Cwd(cwd_cfg));
    }
    tried.push(format!("./kubeconfig ({}: not found)", cwd_cfg.display()));
    match &l.home {
        Some(h) => {
            let p = h.join(".kube").join("config");
            if p.is_file() {
                return Ok(KubeSource::Home(p));
            }
            tried.push(format!("~/.kube/config ({}: not found)", p.display()));
        }
        None => tried.push("~/.kube/config (HOME unset)".to_string()),
    }
    if l.in_cluster {
        return Ok(KubeSource::InCluster);
    }
    tried.push("in-cluster service account (KUBERNETES_SERVICE_HOST unset)".to_string());
    Err(format!(
        "no kubeconfig found: tried {}; pass one with -k PATH or set KUBECONFIG",
        tried.join(", ")
    ))
}

/// Read and merge the kubeconfig files of a source.
pub fn load(source: &KubeSource) -> Result<kube::config::Kubeconfig, String> {
    let mut merged: Option<kube::config::Kubeconfig> = None;
    for f in source.files() {
        let kc = kube::config::Kubeconfig::read_from(&f)
            .map_err(|e| format!("cannot read kubeconfig {}: {e}", f.display()))?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m
                .merge(kc)
                .map_err(|e| format!("cannot merge kubeconfig {}: {e}", f.display()))?,
        });
    }
    merged.ok_or_else(|| "kubeconfig source has no files".to_string())
}

/// The context a run uses: `--context`, else the kubeconfig's current-context.
pub fn context_name(source: &KubeSource, flag: Option<&str>) -> Result<String, String> {
    if let Some(c) = flag {
        return Ok(c.to_string());
    }
    if *source == KubeSource::InCluster {
        return Ok("in-cluster".into());
    }
    let kc = load(source)?;
    kc.current_context.clone().ok_or_else(|| {
        format!(
            "kubeconfig {} has no current-context; pass --context NAME",
            source.describe()
        )
    })
}

/// Namespace of the context (for defaults), else `default`.
pub fn context_namespace(source: &KubeSource, context: &str) -> String {
    if let Ok(kc) = load(source) {
        if let Some(ctx) = kc.contexts.iter().find(|c| c.name == context) {
            if let Some(ns) = ctx.context.as_ref().and_then(|c| c.namespace.clone()) {
                return ns;
            }
        }
    }
    "default".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(dir: &Path) -> Lookup<'static> {
        Lookup {
            flag: None,
            env_kubeconfig: None,
            cwd: dir.join("cwd"),
            home: Some(dir.join("home")),
            in_cluster: false,
        }
    }

    #[test]
    fn order_is_flag_env_cwd_home() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("cwd")).unwrap();
        std::fs::create_dir_all(d.path().join("home/.kube")).unwrap();
        let home = d.path().join("home/.kube/config");
        let cwd = d.path().join("cwd/kubeconfig");
        let env = d.path().join("env.yaml");
        let flag = d.path().join("flag.yaml");
        for p in [&home, &cwd, &env, &flag] {
            std::fs::write(p, "apiVersion: v1\nkind: Config\n").unwrap();
        }
        let mut l = lookup(d.path());
        assert_eq!(resolve(&l).unwrap(), KubeSource::Cwd(cwd.clone()));
        std::fs::remove_file(&cwd).unwrap();
        assert_eq!(resolve(&l).unwrap(), KubeSource::Home(home.clone()));
        l.env_kubeconfig = Some(format!("{}:/nonexistent", env.display()));
        assert_eq!(resolve(&l).unwrap(), KubeSource::Env(vec![env.clone()]));
        l.flag = Some(&flag);
        assert_eq!(resolve(&l).unwrap(), KubeSource::Flag(flag.clone()));
    }

    #[test]
    fn missing_lists_every_place() {
        let d = tempfile::tempdir().unwrap();
        let e = resolve(&lookup(d.path())).unwrap_err();
        for want in [
            "-k/--kubeconfig",
            "KUBECONFIG",
            "./kubeconfig",
            "~/.kube/config",
            "in-cluster",
        ] {
            assert!(e.contains(want), "{want} missing from: {e}");
        }
    }

    #[test]
    fn in_cluster_is_last_resort() {
        let d = tempfile::tempdir().unwrap();
        let mut l = lookup(d.path());
        l.in_cluster = true;
        assert_eq!(resolve(&l).unwrap(), KubeSource::InCluster);
    }

    #[test]
    fn missing_flag_file_is_an_error_not_a_fallback() {
        let d = tempfile::tempdir().unwrap();
        let mut l = lookup(d.path());
        let p = d.path().join("nope");
        l.flag = Some(&p);
        assert!(resolve(&l).unwrap_err().contains("does not exist"));
    }
}
