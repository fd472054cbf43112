//! `scaffold lazyget`: kind configs and images, tools downloaded and verified.

use crate::cli::{LazygetCommand, ToolArgs};

pub fn run(c: &LazygetCommand, interrupt: &crate::interrupt::Interrupt) -> i32 {
    let fail = |e: String| {
        crate::ui::err(format!("error: {e}"));
        1
    };
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
                        Ok(()) => 0,
                        Err(e) => fail(format!("cannot write {}: {e}", f.display())),
                    },
                    None => {
                        print!("{text}");
                        0
                    }
                },
                Err(e) => {
                    crate::ui::err(format!("error: {e}"));
                    2
                }
            }
        }
        LazygetCommand::KindImage { version } => match crate::kind::image(version) {
            Ok(i) => {
                crate::ui::out(&i);
                0
            }
            Err(e) => fail(e),
        },
        LazygetCommand::Cilium(a) => tool("cilium", a, interrupt),
        LazygetCommand::Crane(a) => tool("crane", a, interrupt),
    }
}

fn tool(name: &str, a: &ToolArgs, interrupt: &crate::interrupt::Interrupt) -> i32 {
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
            0
        }
        Err(e) if e == "interrupted" => 130,
        Err(e) => {
            crate::ui::err(format!("error: lazyget {name}: {e}"));
            1
        }
    }
}
