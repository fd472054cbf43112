//! Thin: parse the command line, install the crypto provider and the log
//! filter, dispatch to `cmd/`, exit with the command's code.

use clap::{CommandFactory, Parser};
use scaffold::cli::{Cli, Command, VerifyCommand};
use scaffold::cmd::{self, runtime, runtime_with};
use scaffold::exit::ExitCode;
use scaffold::interrupt::Mode;

fn main() {
    let cli = Cli::parse();
    scaffold::install_crypto();
    init_tracing(cli.global.verbose);
    let code = match cmd::check_environment() {
        Ok(()) => dispatch(cli),
        Err(e) => scaffold::exit::fail(ExitCode::USAGE, e),
    };
    scaffold::ui::flush(std::time::Duration::from_secs(5));
    std::process::exit(code.code());
}

fn init_tracing(verbose: bool) {
    let filter = std::env::var("SCAFFOLD_LOG").unwrap_or_else(|_| {
        // kube's own error logs would repeat what our errors say, with less context
        if verbose {
            "scaffold=debug,kube=warn"
        } else {
            "scaffold=warn"
        }
        .to_string()
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        // through the output thread: masked like every line scaffold prints
        .with_writer(scaffold::ui::ErrLines::default)
        .with_ansi(false)
        .without_time()
        .try_init();
}

fn dispatch(cli: Cli) -> ExitCode {
    let kube = cmd::kube_options(&cli.global);
    let verbose = cli.global.verbose;
    match cli.command {
        Command::Script(a) => cmd::script::script(a, kube, verbose),
        Command::Repl => cmd::repl::repl(kube, verbose),
        Command::Check { files } => cmd::check::check(&files),
        Command::Docs { format } => cmd::check::docs(format),
        Command::Verify(VerifyCommand::K8sReady(a)) => {
            let (rt, interrupt) = runtime_with(Mode::Script);
            cmd::verify::k8s_ready(&a, &kube, &rt, &interrupt)
        }
        Command::Apply(a) => {
            let (rt, interrupt) = runtime_with(Mode::Script);
            cmd::apply::apply(&a, &kube, &rt, &interrupt)
        }
        Command::PortForward(a) => {
            let (rt, interrupt) = runtime_with(Mode::Repl);
            cmd::port_forward::port_forward(&a, &kube, &rt, &interrupt)
        }
        Command::Lazyget(c) => {
            let (_rt, interrupt) = runtime_with(Mode::Script);
            cmd::lazyget::run(&c, &interrupt)
        }
        Command::Ron(a) => {
            let (rt, interrupt) = runtime_with(Mode::Script);
            cmd::ron::ron(&a, &kube, &rt, &interrupt)
        }
        Command::Sweep(a) => scaffold::sweep::run::sweep(&a, &cli.global),
        Command::Report(a) => cmd::report::report(&a),
        Command::Cleanup {
            run,
            dry_run,
            older_than,
        } => cmd::cleanup::cleanup(
            run.as_deref(),
            dry_run,
            older_than.as_deref(),
            &kube,
            &runtime(),
        ),
        Command::Completion { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "scaffold", &mut out);
            ExitCode::OK
        }
    }
}
