//! How scaffold ends: the exit code of every command, and the error of
//! work that Ctrl-C stopped (a type, never a message to match).

use std::fmt;

/// The process exit status: 0 ok, 1 a script, host or cluster error,
/// 2 a usage error (bad flags or input), 130 interrupted (128 + SIGINT);
/// `scaffold ron` passes on the remote command's own code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCode(i32);

impl ExitCode {
    pub const OK: ExitCode = ExitCode(0);
    pub const ERROR: ExitCode = ExitCode(1);
    pub const USAGE: ExitCode = ExitCode(2);
    pub const INTERRUPTED: ExitCode = ExitCode(130);

    /// A command's own exit code, passed on as scaffold's.
    pub fn of_command(code: i32) -> ExitCode {
        ExitCode(code)
    }

    pub fn code(self) -> i32 {
        self.0
    }

    /// OK, or ERROR when something failed.
    pub fn failed_if(failed: bool) -> ExitCode {
        if failed {
            ExitCode::ERROR
        } else {
            ExitCode::OK
        }
    }
}

/// Work stopped by Ctrl-C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// An error with its message, or Ctrl-C.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Interrupted,
    Error(String),
}

impl Failure {
    /// 130 after Ctrl-C, else 1.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Interrupted => ExitCode::INTERRUPTED,
            Failure::Error(_) => ExitCode::ERROR,
        }
    }

    /// The error's message with `what:` in front (Ctrl-C stays Ctrl-C).
    pub fn context(self, what: &str) -> Failure {
        match self {
            Failure::Error(e) => Failure::Error(format!("{what}: {e}")),
            i => i,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Interrupted => f.write_str("interrupted"),
            Failure::Error(e) => f.write_str(e),
        }
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Failure {
        Failure::Error(e)
    }
}

impl From<Interrupted> for Failure {
    fn from(_: Interrupted) -> Failure {
        Failure::Interrupted
    }
}

/// Print `error: MSG` and return `code` (the end of a failed command).
pub fn fail(code: ExitCode, msg: impl fmt::Display) -> ExitCode {
    crate::ui::err(format!("error: {msg}"));
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_failures() {
        let codes = [
            ExitCode::OK,
            ExitCode::ERROR,
            ExitCode::USAGE,
            ExitCode::INTERRUPTED,
        ];
        assert_eq!(codes.map(ExitCode::code), [0, 1, 2, 130]);
        assert_eq!(ExitCode::failed_if(true), ExitCode::ERROR);
        assert_eq!(ExitCode::of_command(7).code(), 7);
        let f: Failure = Interrupted.into();
        assert_eq!(f.exit_code(), ExitCode::INTERRUPTED);
        assert_eq!(f.clone().context("lazyget"), Failure::Interrupted);
        let e = Failure::from("boom".to_string()).context("lazyget");
        assert_eq!(
            (e.to_string(), e.exit_code()),
            ("lazyget: boom".into(), ExitCode::ERROR)
        );
    }
}
