//! Where scaffold keeps things of its own: the state directory (REPL
//! history, kind kubeconfigs) and the cache (downloaded tools); private
//! files are created 0600 in 0700 directories, never through a symlink.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

/// `$XDG_STATE_HOME/scaffold` (else `~/.local/state/scaffold`).
pub fn state_dir() -> Option<PathBuf> {
    xdg("XDG_STATE_HOME", ".local/state").map(|d| d.join("scaffold"))
}

/// `$XDG_CACHE_HOME/scaffold` (else `~/.cache/scaffold`, else the temp dir).
pub fn cache_dir() -> PathBuf {
    xdg("XDG_CACHE_HOME", ".cache")
        .unwrap_or_else(std::env::temp_dir)
        .join("scaffold")
}

/// The REPL's history file.
pub fn history_path() -> Option<PathBuf> {
    state_dir().map(|d| d.join("history"))
}

/// A directory only the user can enter (created 0700; an existing one
/// must not be a symlink).
pub fn private_dir(dir: &Path) -> Result<(), String> {
    if let Ok(m) = std::fs::symlink_metadata(dir) {
        if m.file_type().is_symlink() {
            return Err(format!(
                "{} is a symlink; refusing to keep private files there",
                dir.display()
            ));
        }
        if m.is_dir() {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            return Ok(());
        }
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Open a private file for writing (0600, in a private directory), never
/// following a symlink at its path. `append` keeps what is there.
pub fn private_file(path: &Path, append: bool) -> Result<std::fs::File, String> {
    if let Some(d) = path.parent() {
        private_dir(d)?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!(
                "{} is a symlink; refusing to write through it",
                path.display()
            ),
            _ => format!("cannot write {}: {e}", path.display()),
        })?;
    // an older file may have been created with other permissions
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    Ok(f)
}

/// Write a private file in one go.
pub fn write_private(path: &Path, body: &[u8]) -> Result<(), String> {
    private_file(path, false)?
        .write_all(body)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Where a kind cluster's kubeconfig is kept: the state directory, else a
/// fresh private temp directory (never a predictable shared path).
pub fn kind_kubeconfig(name: &str) -> Result<PathBuf, String> {
    let dir = match state_dir() {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("scaffold-kind-")
            .tempdir()
            .map_err(|e| format!("cannot create a private directory: {e}"))?
            .keep(),
    };
    Ok(dir.join(format!("kind-{name}.kubeconfig")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600_and_refuse_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/secret");
        write_private(&p, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&d.path().join("sub")), 0o700);
        // an existing file with wider permissions is narrowed
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&p, b"y").unwrap();
        assert_eq!(mode(&p), 0o600);
        // a symlink planted at the path is not followed
        let target = d.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        let link = d.path().join("sub/link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_private(&link, b"z").unwrap_err();
        assert!(e.contains("symlink"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        // nor a symlinked directory
        let ldir = d.path().join("ldir");
        std::os::unix::fs::symlink(d.path().join("sub"), &ldir).unwrap();
        assert!(write_private(&ldir.join("f"), b"z")
            .unwrap_err()
            .contains("symlink"));
    }
}
