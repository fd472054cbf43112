//! Tools fetched on demand (the original's get_ciliumcli.sh, get_crane.sh):
//! download the release archive for the platform, verify the published
//! sha256 before unpacking, unpack the binary, mark it executable; skip the
//! download when the same verified version is already there.

use crate::exit::Failure;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct Request {
    pub tool: String,
    /// pinned default when `None`; `latest` asks the release API
    pub version: Option<String>,
    pub platform: Option<String>,
    pub arch: Option<String>,
    pub dest: PathBuf,
    pub keep: bool,
}

/// Tools the data file knows.
pub fn tools() -> Vec<String> {
    crate::kind::data()["tools"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn spec(tool: &str) -> Result<&'static Value, String> {
    let t = &crate::kind::data()["tools"][tool];
    if t.is_object() {
        Ok(t)
    } else {
        Err(format!(
            "unknown tool '{tool}'; lazyget knows: {}",
            tools().join(", ")
        ))
    }
}

/// `XDG_CACHE_HOME/scaffold/tools` (or `~/.cache/scaffold/tools`): where
/// scripts keep downloaded tools, shared by runs.
pub fn cache_dir() -> PathBuf {
    crate::paths::cache_dir().join("tools")
}

/// An agent for `url`: proxies from the environment as for the cluster
/// (src/net/proxy.rs).
fn agent(url: &str) -> Result<ureq::Agent, String> {
    Ok(ureq::Agent::config_builder()
        .proxy(crate::net::proxy::for_url(url)?)
        .timeout_connect(Some(std::time::Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into())
}

fn get(url: &str) -> Result<ureq::http::Response<ureq::Body>, String> {
    let r = agent(url)?
        .get(url)
        .header("User-Agent", "scaffold")
        .call()
        .map_err(|e| format!("cannot download {url}: {e}"))?;
    match r.status().as_u16() {
        200 => Ok(r),
        404 => Err(format!("{url} does not exist (404): is the version right?")),
        c => Err(format!("{url} answered HTTP {c}")),
    }
}

fn get_text(url: &str) -> Result<String, String> {
    get(url)?
        .into_body()
        .read_to_string()
        .map_err(|e| format!("reading {url}: {e}"))
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// The sha256 for `file` in a checksum file (`<sha>  <name>` lines, or one bare sum).
pub fn find_sum(text: &str, file: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    for l in &lines {
        let mut it = l.split_whitespace();
        if let (Some(sum), Some(name)) = (it.next(), it.next()) {
            if name.trim_start_matches('*') == file || name.ends_with(&format!("/{file}")) {
                return Some(sum.to_lowercase());
            }
        }
    }
    match lines.as_slice() {
        [one] if one.split_whitespace().count() == 1 && one.trim().len() == 64 => {
            Some(one.trim().to_lowercase())
        }
        _ => None,
    }
}

/// What to download for a request: names and URLs filled in from
/// data/lazyget.yaml.
struct Plan {
    version: String,
    platform: String,
    arch: String,
    file: String,
    url: String,
    sums_url: String,
    binary: String,
}

/// The version asked for (`latest` asks the release API).
fn version_of(r: &Request, t: &Value) -> Result<String, String> {
    let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
    match r.version.as_deref() {
        None | Some("") => Ok(s("version")),
        Some("latest") => {
            let url = std::env::var(s("latest_env")).unwrap_or_else(|_| s("latest"));
            let v: Value = serde_json::from_str(&get_text(&url)?)
                .map_err(|e| format!("release API {url}: {e}"))?;
            v["tag_name"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("release API {url} gave no tag_name"))
        }
        Some(v) => Ok(v.to_string()),
    }
}

/// The release name of this platform or architecture, or an error listing those there are.
fn release_name(
    t: &Value,
    table: &str,
    want: &str,
    tool: &str,
    what: &str,
) -> Result<String, String> {
    t[table][want.to_lowercase().as_str()]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| {
            let have = t[table]
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            format!("{tool} has no release for {what} '{want}'; {what}s: {have}")
        })
}

fn plan(r: &Request) -> Result<Plan, String> {
    let t = spec(&r.tool)?;
    let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
    let base = std::env::var(s("base_env")).unwrap_or_else(|_| s("base"));
    let version = version_of(r, t)?;
    let os = r
        .platform
        .clone()
        .unwrap_or_else(|| match std::env::consts::OS {
            "macos" => "darwin".into(),
            other => other.into(),
        });
    let arch = r
        .arch
        .clone()
        .unwrap_or_else(|| std::env::consts::ARCH.into());
    let platform = release_name(t, "platforms", &os, &r.tool, "platform")?;
    let arch = release_name(t, "arches", &arch, &r.tool, "architecture")?;
    let vars = [
        ("base", base.as_str()),
        ("version", version.as_str()),
        ("platform", platform.as_str()),
        ("arch", arch.as_str()),
    ];
    let file = fill(&s("file"), &vars);
    let mut vars = vars.to_vec();
    vars.push(("file", &file));
    Ok(Plan {
        url: fill(&s("url"), &vars),
        sums_url: fill(&s("checksums"), &vars),
        binary: s("binary"),
        version,
        platform,
        arch,
        file,
    })
}

impl Plan {
    fn marker(&self, r: &Request) -> Value {
        json!({"tool": r.tool, "version": self.version, "platform": self.platform, "arch": self.arch})
    }
}

/// The binary, when a verified copy of the same version is there.
fn cached(r: &Request, p: &Plan, bin_path: &Path, marker: &Path) -> bool {
    let want = p.marker(r);
    bin_path.is_file()
        && std::fs::read_to_string(marker)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .is_some_and(|m| {
                ["tool", "version", "platform", "arch"]
                    .iter()
                    .all(|k| m[k] == want[k])
            })
}

/// A download progress bar on a terminal: size and rate.
fn download_bar(progress: bool, total: Option<u64>, file: &str) -> Option<indicatif::ProgressBar> {
    (progress && crate::ui::stderr_is_tty()).then(|| {
        let b = indicatif::ProgressBar::new(total.unwrap_or(0));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bytes}/{total_bytes} {binary_bytes_per_sec} [{elapsed}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message(format!("downloading {file}"));
        b
    })
}

/// Download `url` to `part`, hashing as it goes; returns the sha256.
fn download(
    url: &str,
    part: &Path,
    file: &str,
    progress: bool,
    cancelled: &dyn Fn() -> bool,
) -> Result<String, Failure> {
    let resp = get(url)?;
    let total: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bar = download_bar(progress, total, file);
    let mut reader = resp.into_body().into_reader();
    let mut out =
        std::fs::File::create(part).map_err(|e| format!("cannot write {}: {e}", part.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        if cancelled() {
            let _ = std::fs::remove_file(part);
            return Err(Failure::Interrupted);
        }
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("downloading {}: {e}", crate::net::redact_url(url)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
        if let Some(b) = &bar {
            b.inc(n as u64);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Fetch a tool; returns the binary's path. `progress` draws a bar on a TTY;
/// `cancelled` is polled while downloading.
pub fn fetch(
    r: &Request,
    progress: bool,
    cancelled: &dyn Fn() -> bool,
) -> Result<PathBuf, Failure> {
    let p = plan(r)?;
    std::fs::create_dir_all(&r.dest)
        .map_err(|e| format!("cannot create {}: {e}", r.dest.display()))?;
    let bin_path = r.dest.join(&p.binary);
    let marker = r.dest.join(format!(".{}.scaffold.json", p.binary));
    if cached(r, &p, &bin_path, &marker) {
        return Ok(bin_path);
    }
    let sums = get_text(&p.sums_url)?;
    let sums_shown = crate::net::redact_url(&p.sums_url);
    let expected = find_sum(&sums, &p.file)
        .ok_or_else(|| format!("{sums_shown} has no checksum for {}", p.file))?;
    let archive = r.dest.join(&p.file);
    let part = r.dest.join(format!("{}.part", p.file));
    let got = download(&p.url, &part, &p.file, progress, cancelled)?;
    if got != expected {
        let _ = std::fs::remove_file(&part);
        return Err(Failure::Error(format!(
            "checksum mismatch for {}: expected sha256 {expected} (from {sums_shown}), got {got}; the download was deleted",
            crate::net::redact_url(&p.url)
        )));
    }
    std::fs::rename(&part, &archive).map_err(|e| e.to_string())?;
    unpack(&archive, &p.binary, &bin_path)?;
    if r.keep {
        let sums_file = r
            .dest
            .join(p.sums_url.rsplit('/').next().unwrap_or("checksums.txt"));
        let _ = std::fs::write(sums_file, &sums);
    } else {
        let _ = std::fs::remove_file(&archive);
    }
    let mut m = p.marker(r);
    m["sha256"] = json!(got);
    let _ = std::fs::write(&marker, serde_json::to_string(&m).unwrap_or_default());
    Ok(bin_path)
}

/// Extract the member named `binary` from a tar.gz to `to`, executable.
fn unpack(archive: &Path, binary: &str, to: &Path) -> Result<(), String> {
    let f = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for entry in tar
        .entries()
        .map_err(|e| format!("{} is not a tar.gz: {e}", archive.display()))?
    {
        let mut e = entry.map_err(|e| format!("{}: {e}", archive.display()))?;
        let path = e.path().map_err(|e| e.to_string())?.to_path_buf();
        if path.file_name().is_some_and(|n| n == binary) {
            let tmp = to.with_extension("new");
            let mut out = std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            std::io::copy(&mut e, &mut out).map_err(|e| e.to_string())?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, to).map_err(|e| e.to_string())?;
            return Ok(());
        }
    }
    Err(format!("{} has no file named {binary}", archive.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files() {
        let multi = "aaa  go-containerregistry_Linux_x86_64.tar.gz\nbbb  go-containerregistry_Darwin_arm64.tar.gz\n";
        assert_eq!(
            find_sum(multi, "go-containerregistry_Darwin_arm64.tar.gz").as_deref(),
            Some("bbb")
        );
        let one = format!("{}  cilium-linux-amd64.tar.gz\n", "c".repeat(64));
        assert_eq!(
            find_sum(&one, "cilium-linux-amd64.tar.gz"),
            Some("c".repeat(64))
        );
        assert_eq!(find_sum(&"d".repeat(64), "x"), Some("d".repeat(64)));
        assert_eq!(find_sum(multi, "other"), None);
    }
}
