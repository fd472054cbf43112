//! Captured output with bounded memory: the last [`LIMIT`] bytes stay in
//! memory (what return values and error messages need); once an output
//! grows past that, all of it is also written to a file (in the run's
//! artifacts), so a `vmstat 1` kept for hours never grows the process.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes of one output kept in memory.
pub const LIMIT: usize = 16 << 20;

/// Where spilled outputs go, asked only when one spills (so a run that
/// never spills creates no directory).
pub type SpillDir = Arc<dyn Fn() -> Option<PathBuf> + Send + Sync>;

/// An output being captured.
pub struct Capture {
    name: String,
    limit: usize,
    mem: Vec<u8>,
    total: u64,
    spill_dir: Option<SpillDir>,
    file: Option<(PathBuf, std::fs::File)>,
    spill_error: Option<String>,
}

/// A finished capture.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    /// the output, or its last [`LIMIT`] bytes when it was larger
    pub text: String,
    /// bytes seen in all
    pub total: u64,
    /// the whole output, when it was larger than the limit
    pub file: Option<PathBuf>,
    /// why the whole output could not be kept, if it could not
    pub spill_error: Option<String>,
}

impl Captured {
    /// True when `text` is not the whole output.
    pub fn truncated(&self) -> bool {
        self.total > self.text.len() as u64
    }

    /// A note for the user when the text is only the tail.
    pub fn note(&self) -> Option<String> {
        if !self.truncated() {
            return None;
        }
        Some(match (&self.file, &self.spill_error) {
            (Some(f), _) => format!(
                "output was {} bytes; the last {} are kept in memory, all of it is in {}",
                self.total,
                self.text.len(),
                f.display()
            ),
            (None, Some(e)) => format!(
                "output was {} bytes; only the last {} were kept ({e})",
                self.total,
                self.text.len()
            ),
            (None, None) => format!(
                "output was {} bytes; only the last {} were kept",
                self.total,
                self.text.len()
            ),
        })
    }
}

impl Capture {
    /// `name` names the spill file (`NAME.log`).
    pub fn new(name: &str, spill_dir: Option<SpillDir>) -> Capture {
        Capture::with_limit(name, spill_dir, LIMIT)
    }

    pub fn with_limit(name: &str, spill_dir: Option<SpillDir>, limit: usize) -> Capture {
        Capture {
            name: name.to_string(),
            limit: limit.max(1),
            mem: Vec::new(),
            total: 0,
            spill_dir,
            file: None,
            spill_error: None,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.file.is_none()
            && self.mem.len() + bytes.len() > self.limit
            && self.spill_error.is_none()
        {
            self.start_spill();
        }
        if let Some((_, f)) = self.file.as_mut() {
            // secret parameters are masked in what is written (per chunk)
            let masked = std::str::from_utf8(bytes).map(crate::secrets::redact);
            let bytes = match &masked {
                Ok(t) => t.as_bytes(),
                Err(_) => bytes,
            };
            if let Err(e) = f.write_all(bytes) {
                self.spill_error = Some(format!("writing the output file failed: {e}"));
                self.file = None;
            }
        }
        self.mem.extend_from_slice(bytes);
        // trimmed only when twice the bound (amortised: no move of the
        // whole tail per chunk), and at the end
        if self.mem.len() > 2 * self.limit {
            self.trim();
        }
    }

    /// Drop the oldest bytes down to the bound, keeping whole lines where
    /// possible.
    fn trim(&mut self) {
        if self.mem.len() > self.limit {
            let over = self.mem.len() - self.limit;
            let cut = self.mem[over..]
                .iter()
                .position(|b| *b == b'\n')
                .map(|i| over + i + 1)
                .filter(|c| *c < self.mem.len())
                .unwrap_or(over);
            self.mem.drain(..cut);
        }
    }

    /// Push a line (a newline is added).
    pub fn line(&mut self, l: &str) {
        let mut b = Vec::with_capacity(l.len() + 1);
        b.extend_from_slice(l.as_bytes());
        b.push(b'\n');
        self.push(&b);
    }

    fn start_spill(&mut self) {
        let Some(dir) = self.spill_dir.as_ref().and_then(|d| d()) else {
            self.spill_error = Some("no artifacts directory to write it to".into());
            return;
        };
        let dir = dir.join("output");
        let open = std::fs::create_dir_all(&dir).and_then(|_| {
            let mut path = dir.join(format!("{}.log", self.name));
            let mut n = 1;
            while path.exists() {
                n += 1;
                path = dir.join(format!("{}-{n}.log", self.name));
            }
            let mut f = std::fs::File::create(&path)?;
            match std::str::from_utf8(&self.mem) {
                Ok(t) => f.write_all(crate::secrets::redact(t).as_bytes())?,
                Err(_) => f.write_all(&self.mem)?,
            }
            Ok((path, f))
        });
        match open {
            Ok(pf) => self.file = Some(pf),
            Err(e) => self.spill_error = Some(format!("cannot write the output file: {e}")),
        }
    }

    pub fn finish(mut self) -> Captured {
        self.trim();
        if let Some((_, f)) = self.file.as_mut() {
            let _ = f.flush();
        }
        Captured {
            text: String::from_utf8_lossy(&self.mem).into_owned(),
            total: self.total,
            file: self.file.map(|(p, _)| p),
            spill_error: self.spill_error,
        }
    }

    /// The text so far (for a capture that is still running).
    pub fn snapshot(&self) -> String {
        let from = self.mem.len().saturating_sub(self.limit);
        String::from_utf8_lossy(&self.mem[from..]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_outputs_stay_in_memory() {
        let mut c = Capture::with_limit("x", None, 100);
        c.line("hello");
        let r = c.finish();
        assert_eq!(r.text, "hello\n");
        assert!(!r.truncated() && r.note().is_none() && r.file.is_none());
    }

    #[test]
    fn large_outputs_keep_a_tail_and_spill_everything() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let spill: SpillDir = Arc::new(move || Some(d.clone()));
        let mut c = Capture::with_limit("vmstat", Some(spill), 64);
        for i in 0..100 {
            c.line(&format!("line {i}"));
        }
        let r = c.finish();
        assert!(r.text.len() <= 64, "{}", r.text.len());
        assert!(
            r.text.starts_with("line ") && r.text.ends_with("line 99\n"),
            "{:?}",
            r.text
        );
        let all = std::fs::read_to_string(r.file.as_ref().unwrap()).unwrap();
        assert!(all.starts_with("line 0\n") && all.ends_with("line 99\n"));
        assert_eq!(all.len() as u64, r.total);
        assert!(r.note().unwrap().contains("vmstat.log"));
    }

    #[test]
    fn without_a_directory_the_tail_is_kept_and_said() {
        let mut c = Capture::with_limit("x", None, 10);
        c.push(b"0123456789abcdef");
        let r = c.finish();
        assert_eq!(r.text, "6789abcdef");
        assert!(
            r.note().unwrap().contains("only the last 10"),
            "{:?}",
            r.note()
        );
    }
}
