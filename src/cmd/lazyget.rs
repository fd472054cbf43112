//! `scaffold lazyget`: kind configs and images, tools downloaded and verified.

use crate::cli::{LazygetCommand, ToolArgs};
use crate::exit::{fail, ExitCode, Failure};

pub fn run(c: &LazygetCommand, interrupt: &crate::interrupt::Interrupt) -> ExitCode {
    match c {
        LazygetCommand::KindConfig {
            name,
            workers,
            control,
            with_cni,
            image,
            output,
        } => {
            let o = crate::kind::ConfigOptions {
                name: name.clone(),
                workers: *workers,
                control_planes: *control,
                with_cni: *with_cni,
                image: image.clone(),
            };
            match crate::kind::config(&o) {
                Ok(text) => match output {
                    Some(f) => match std::fs::write(f, &text) {
                        Ok(()) => ExitCode::OK,
                        Err(e) => fail(
                            ExitCode::ERROR,
                            format!("cannot write {}: {e}", f.display()),
                        ),
                    },
                    None => {
                        print!("{text}");
                        ExitCode::OK
                    }
                },
                Err(e) => fail(ExitCode::USAGE, e),
            }
        }
        LazygetCommand::KindImage { version } => match crate::kind::image(version) {
            Ok(i) => {
                crate::ui::out(&i);
                ExitCode::OK
            }
            Err(e) => fail(ExitCode::ERROR, e),
        },
        LazygetCommand::Cilium(a) => tool("cilium", a, interrupt),
        LazygetCommand::Crane(a) => tool("crane", a, interrupt),
    }
}

fn tool(name: &str, a: &ToolArgs, interrupt: &crate::interrupt::Interrupt) -> ExitCode {
    let req = crate::lazyget::Request {
        tool: name.into(),
        version: a.version.clone(),
        platform: a.platform.clone(),
        arch: a.arch.clone(),
        dest: a.dest.clone(),
        keep: a.keep,
    };
    match crate::lazyget::fetch(&req, true, &|| interrupt.is_set()) {
        Ok(p) => {
            crate::ui::out(format!("{}", p.display()));
            ExitCode::OK
        }
        Err(Failure::Interrupted) => ExitCode::INTERRUPTED,
        Err(e) => fail(ExitCode::ERROR, format!("lazyget {name}: {e}")),
    }
}
