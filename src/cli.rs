//! Command-line definitions (clap) only.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "scaffold",
    version,
    about = "Kubernetes performance-benchmark scenarios as Rhai scripts",
    long_about = "Kubernetes performance-benchmark scenarios as Rhai scripts.\n\nRun a scenario with `scaffold script FILE`, explore with `scaffold repl`, list every host function with `scaffold docs`."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Path to the kubeconfig; else KUBECONFIG, ./kubeconfig, ~/.kube/config, in-cluster
    #[arg(short = 'k', long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use instead of the current one
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Client-side request rate limit of apply (requests per second) [default: 100]
    #[arg(long, global = true, value_name = "N")]
    pub qps: Option<f64>,
    /// Client-side burst above --qps [default: 200]
    #[arg(long, global = true, value_name = "N")]
    pub burst: Option<u32>,
    /// Trace every command and host function call with its arguments and duration (like set -x)
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a Rhai scenario script
    Script(ScriptArgs),
    /// Interactive Rhai prompt with every host function
    Repl,
    /// Compile scripts (and their imports) without running them
    Check {
        /// Script files
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Reference of every host function, generated from the engine
    Docs {
        #[arg(long, value_enum, default_value_t = DocsFormat::Markdown)]
        format: DocsFormat,
    },
    /// Print a shell completion script
    Completion { shell: clap_complete::Shell },
    /// Verify the state of things
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// Server-side apply a manifest file or directory (kustomizations rendered first)
    Apply(ApplyArgs),
    /// Forward a local port to a pod or service port
    #[command(name = "port-forward")]
    PortForward(PortForwardArgs),
    /// Get a thing so you don't have to: kind configs and images, tools
    #[command(subcommand)]
    Lazyget(LazygetCommand),
    /// Run On Node: run a command on a node through a privileged pod
    Ron(Box<RonArgs>),
    /// Run a script over a grid of parameters, each point several times
    Sweep(SweepArgs),
    /// Compare runs: summaries side by side, change in percent, thresholds, plots
    Report(ReportArgs),
    /// Delete everything scaffold created (by label), e.g. after kill -9
    Cleanup {
        /// Only objects of this run id (scaffold.run/id)
        #[arg(long)]
        run: Option<String>,
        /// Show what would be deleted
        #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
        dry_run: bool,
        /// Only runs that started longer ago than this (e.g. 2h, 30m), whole; a run still alive on this machine is always left alone
        #[arg(long, value_name = "DURATION")]
        older_than: Option<String>,
    },
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  scaffold sweep scenarios/xdp/main.rhai --grid mode=nkpr,kpr,xdp --repeat 5
  scaffold sweep main.rhai --grid size=64,1500 --set duration=30 --order random --seed 7
  scaffold sweep main.rhai --grid mode=a,b --parallel 2 --contexts kind-one,kind-two
  scaffold sweep scenarios/xdp/main.rhai --grid mode=nkpr,xdp --detect 5% --pilot 3 --max-repeat 15
  scaffold sweep --resume scenarios/xdp/artifacts/sweep-2026-12-01T10-15-00Z
  scaffold report scenarios/xdp/artifacts/sweep-2026-12-01T10-15-00Z --baseline mode=nkpr")]
pub struct SweepArgs {
    /// The script (not needed with --resume)
    #[arg(required_unless_present = "resume")]
    pub file: Option<PathBuf>,
    /// Arguments for every run's script (args()); put them after `--`
    #[arg(last = true)]
    pub args: Vec<String>,
    /// A parameter and its values, set in each run like --set (repeatable;
    /// the grid is every combination)
    #[arg(long = "grid", value_name = "KEY=V1,V2,...")]
    pub grid: Vec<String>,
    /// Runs per grid point
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: u32,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Run order: round-robin over the grid points (drift on a shared
    /// machine hits every point alike), all repeats of a point together, or
    /// shuffled with --seed
    #[arg(long, value_enum, default_value = "interleaved")]
    pub order: Order,
    /// Seed of --order random (default: from the clock, written to sweep.json)
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Stop a run that takes longer (e.g. 30m): it is interrupted, cleans
    /// up, and is recorded as timed out
    #[arg(long, value_name = "DURATION")]
    pub run_timeout: Option<String>,
    /// Runs at once, each on its own context of --contexts
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub parallel: usize,
    /// Kubeconfig contexts for the runs, comma-separated: a context runs one
    /// run at a time
    #[arg(long, value_name = "CTX,CTX", value_delimiter = ',')]
    pub contexts: Vec<String>,
    /// Continue an interrupted sweep: the runs not finished yet
    #[arg(long, value_name = "SWEEP_DIR")]
    pub resume: Option<PathBuf>,
    /// Stop at the first failed or timed-out run
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub fail_fast: bool,
    /// Stop at breakpoints (default: skipped in sweeps)
    #[arg(long = "break", default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub breakpoints: bool,
    /// Parent of the sweep directory [default: artifacts/ next to the script]
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Collect this metrics profile at the end of every run (see
    /// `scaffold script --metrics-profile`)
    #[arg(long, value_name = "FILE")]
    pub metrics_profile: Option<PathBuf>,
    /// Plan the repeats: after --pilot runs of every point, as many runs a
    /// point as a change of this size (5%, or 0.05) needs to be found with
    /// 80% power, from the pilot's spread (at most --max-repeat)
    #[arg(long, value_name = "CHANGE", conflicts_with = "repeat")]
    pub detect: Option<String>,
    /// With --detect: runs of every point before planning
    #[arg(long, default_value_t = 3, value_name = "N", requires = "detect")]
    pub pilot: u32,
    /// With --detect: the most runs a point the plan may ask for
    #[arg(long, default_value_t = 20, value_name = "N", requires = "detect")]
    pub max_repeat: u32,
    /// With --detect: plan for this series only (repeatable; default every
    /// numeric one)
    #[arg(long = "detect-metric", value_name = "NAME", requires = "detect")]
    pub detect_metrics: Vec<String>,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  scaffold report scenarios/xdp/artifacts                 every run in an artifacts directory
  scaffold report runs/nkpr runs/kpr runs/xdp --plot cpu.svg
  scaffold report artifacts/latest --fail-if 'throughput < 9' --fail-if 'latency.p95 > 200'
  scaffold report artifacts/sweep-2026-12-01T10-15-00Z --baseline mode=nkpr --fail-if 'throughput[mode=xdp].median < 10'")]
pub struct ReportArgs {
    /// results.json files, run directories, or artifacts directories holding runs
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Exit 1 when this holds for any run: 'METRIC[.STAT] OP NUMBER'
    /// (STAT: mean (default), median, p50, p90, p95, p99, min, max, n, last;
    /// OP: < <= > >= == !=); for a sweep, per group: 'METRIC[mode=xdp].median < 10'
    /// (over the runs' values; default median; without [..] every group)
    #[arg(long = "fail-if", value_name = "CONDITION")]
    pub fail_if: Vec<String>,
    /// Draw the recorded numbers to FILE.svg or FILE.png
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Chart style of --plot
    #[arg(long, value_enum, default_value = "bar")]
    pub plot_style: PlotStyle,
    /// Plot only these records (repeatable)
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
    /// Output format
    #[arg(short, long, value_enum, default_value = "text")]
    pub output: ReportFormat,
    /// Sweeps: compare each group with the group at this grid value
    /// (e.g. mode=nkpr) instead of every pair of groups
    #[arg(long, value_name = "KEY=VALUE[,KEY=VALUE]")]
    pub baseline: Option<String>,
    /// Sweeps: the one value each run gives per series
    /// (median, mean, p90, p95, p99, min, max, last)
    #[arg(long, default_value = "median")]
    pub stat: String,
    /// The runs as a history (e.g. nightly runs, in the order they
    /// started): per metric the runs where its level changed, and what
    /// differs in their environments (--metric: only these; --stat: the
    /// run's value)
    #[arg(long, default_value_t = false)]
    pub history: bool,
    /// Accept runs whose fingerprints differ in FIELD (and the fields under
    /// it: node, node.kind-worker.governor, client.host); without it such
    /// runs get no comparison verdict (exit 1)
    #[arg(long = "allow-different", value_name = "FIELD")]
    pub allow_different: Vec<String>,
    /// Also write one self-contained HTML page of the runs or the sweep
    /// (tables, charts, runs, environments; opens offline in any browser)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the runs' records to a Prometheus remote-write receiver,
    /// e.g. http://localhost:9090/api/v1/write (docs/metrics.md)
    #[arg(long, value_name = "URL")]
    pub remote_write: Option<String>,
    /// An extra label on every series --remote-write writes (repeatable)
    #[arg(long = "label", value_name = "NAME=VALUE", requires = "remote_write")]
    pub labels: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct RonArgs {
    /// Node to pin the pod to
    #[arg(long)]
    pub node: String,
    #[arg(long, default_value = "ron")]
    pub pod_name: String,
    #[arg(long, default_value = "alpine")]
    pub pod_image: String,
    /// Namespace of everything created
    #[arg(long = "ns", default_value = "default")]
    pub namespace: String,
    /// Prefix the command with nsenter
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub nsenter: bool,
    #[arg(long, default_value = "nsenter")]
    pub nsenter_binary: String,
    #[arg(long, default_value = "-t 1 -u -i -n -p", allow_hyphen_values = true)]
    pub nsenter_opts: String,
    /// File put in a ConfigMap mounted at /configs (repeatable)
    #[arg(short = 'm', long = "mount", value_name = "FILE")]
    pub mounts: Vec<PathBuf>,
    #[arg(long, default_value = "roncm")]
    pub configmap_name: String,
    /// Create a PVC mounted at /store (and a `sleep` container for the copy-out)
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub pvc: bool,
    #[arg(long, default_value = "ron-pvc")]
    pub pvc_name: String,
    #[arg(long, default_value = "1Gi")]
    pub pvc_size: String,
    #[arg(long, default_value = "ReadWriteOnce")]
    pub pvc_access_mode: String,
    /// Own the PVC with that name (create and delete it)
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub manage_pvc: bool,
    /// After the run, tar.gz /store out through exec
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub auto_copy: bool,
    #[arg(long, default_value = "./ron.tar.gz")]
    pub auto_copy_dest: PathBuf,
    /// Delete everything created before exit
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub cleanup_all: bool,
    /// Delete the pod (with --cleanup-all=false)
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub cleanup_pod: bool,
    /// Delete the PVC (with --cleanup-all=false)
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub cleanup_pvc: bool,
    /// Only delete what a run would create, then exit
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub cleanup_and_exit: bool,
    /// Retries of failed API operations
    #[arg(long, default_value_t = 15)]
    pub retry_attempts: u32,
    /// Delay between retries (e.g. 1s, 500ms is 0.5s)
    #[arg(long, default_value = "1s")]
    pub retry_delay: String,
    /// Print the events of created objects
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub show_events: bool,
    /// How long the command may run (e.g. 90s, 2h)
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub timeout: String,
    /// The command (after --)
    #[arg(last = true)]
    pub cmd: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum LazygetCommand {
    /// Print a kind cluster config
    #[command(name = "kind-config")]
    KindConfig {
        /// Cluster name
        #[arg(short, long, default_value = "kind")]
        name: String,
        /// Worker nodes
        #[arg(
            short = 'w',
            long = "num-workers",
            default_value_t = 0,
            allow_negative_numbers = true
        )]
        workers: i64,
        /// Control-plane nodes
        #[arg(
            short = 'c',
            long = "num-control",
            default_value_t = 1,
            allow_negative_numbers = true
        )]
        control: i64,
        /// Keep kind's default CNI (otherwise disableDefaultCNI: true)
        #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
        with_cni: bool,
        /// Node image [default: the newest pinned image]
        #[arg(short, long)]
        image: Option<String>,
        /// Write to FILE instead of stdout
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the kind node image pinned by digest for a Kubernetes version
    #[command(name = "kind-image")]
    KindImage {
        /// 1.33, v1.33, 1.33.4 or v1.33.4
        version: String,
    },
    /// Download cilium-cli, checksum-verified
    Cilium(ToolArgs),
    /// Download crane, checksum-verified
    Crane(ToolArgs),
}

#[derive(Args, Debug)]
pub struct ToolArgs {
    /// Release to get [default: the pinned one; `latest` asks the release API]
    #[arg(long)]
    pub version: Option<String>,
    /// linux or darwin [default: this machine's]
    #[arg(short, long)]
    pub platform: Option<String>,
    /// amd64/x86_64 or arm64/aarch64 [default: this machine's]
    #[arg(short, long)]
    pub arch: Option<String>,
    /// Directory to put the binary in
    #[arg(short, long, default_value = ".")]
    pub dest: PathBuf,
    /// Keep the downloaded archive and checksum file
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub keep: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// YAML file, directory of YAML files, or kustomization directory
    pub path: PathBuf,
    /// Namespace for objects that do not name one [default: the context's]
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// `create-or-replace` does the original's `kubectl create || kubectl replace`
    #[arg(long, value_enum, default_value_t = ApplyMode::Apply)]
    pub mode: ApplyMode,
    /// Do not take over fields owned by other managers
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub no_force: bool,
    /// Wait until the applied workloads are ready
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,
    /// How long --wait may take (e.g. 90s, 5m)
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// Change nothing: a server-side dry run of every object, one line each
    /// (would create, would change, unchanged)
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub dry_run: bool,
    /// Change nothing: show what would change against the live objects as a
    /// unified diff, like kubectl diff (exit 1 when there are differences)
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub diff: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyMode {
    Apply,
    CreateOrReplace,
}

#[derive(Args, Debug)]
pub struct PortForwardArgs {
    /// pod/NAME, svc/NAME or deploy/NAME (a ready pod of it), or a pod name
    pub target: String,
    /// Ports as kubectl takes them: REMOTE (the same local port),
    /// LOCAL:REMOTE, or :REMOTE (a free local port)
    #[arg(required = true, value_name = "[LOCAL:]REMOTE")]
    pub ports: Vec<String>,
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Local port for a single REMOTE port
    #[arg(long)]
    pub local_port: Option<u16>,
    /// Local address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub address: String,
}

#[derive(Subcommand, Debug)]
pub enum VerifyCommand {
    /// Check that nodes, pods, deployments, daemonsets and statefulsets are ready
    #[command(name = "k8s-ready")]
    K8sReady(K8sReadyArgs),
}

#[derive(Args, Debug)]
pub struct K8sReadyArgs {
    /// Watch until everything is ready instead of checking once
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,
    /// How long --wait may take (e.g. 90s, 5m, 1h)
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Only these namespaces (repeatable; default: all)
    #[arg(short, long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Only these kinds (repeatable: nodes, pods, deployments, daemonsets, statefulsets)
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

/// The parameters of a run (`scaffold script`, and every run of `scaffold
/// sweep`), read in the script with param()/params().
#[derive(Args, Debug, Clone, Default)]
pub struct ParamArgs {
    /// Parameter as a string, read with param()/params() (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Parameter as JSON, e.g. --set-json 'nodes=["a","b"]' (repeatable)
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Secret parameter, read with param() like --set but never written:
    /// shown as <secret> in output, traces, errors and results.json. KEY
    /// alone takes the value of the environment variable KEY (keeps it out
    /// of shell history and `ps`); a sweep hands it to its runs in their
    /// environment (repeatable)
    #[arg(long = "set-secret", value_name = "KEY[=VALUE]")]
    pub set_secret: Vec<String>,
}

/// `--set`, `--set-json` and `--set-secret`, parsed and checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// `--set` (strings) and `--set-json` values
    pub values: serde_json::Map<String, serde_json::Value>,
    /// the keys given with `--set-json`
    pub json_keys: Vec<String>,
    /// `--set-secret` names and values (the values registered for masking)
    pub secrets: Vec<(String, String)>,
}

impl ParamArgs {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.set_json.is_empty() && self.set_secret.is_empty()
    }

    /// Every flag checked: `KEY=VALUE`, valid JSON, a secret long enough to
    /// mask (errors name the flag and what to write).
    pub fn parse(&self) -> Result<Params, String> {
        let mut p = Params::default();
        for s in &self.set {
            let (k, v) = crate::util::parse_kv("--set", s)?;
            p.values.insert(k, serde_json::Value::String(v));
        }
        for s in &self.set_json {
            let (k, v) = crate::util::parse_kv("--set-json", s)?;
            let j = serde_json::from_str(&v)
                .map_err(|e| format!("--set-json {s}: invalid JSON: {e}"))?;
            p.values.insert(k.clone(), j);
            p.json_keys.push(k);
        }
        for s in &self.set_secret {
            p.secrets.push(crate::secrets::parse_arg(s)?);
        }
        Ok(p)
    }
}

#[derive(Args, Debug)]
pub struct ScriptArgs {
    /// The script to run
    pub file: PathBuf,
    /// Arguments for the script (read with args()); scaffold's options may
    /// come anywhere, a negative number is an argument, and everything
    /// after `--` goes to the script verbatim (how it takes flags of its own)
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Parent directory of per-run result directories [default: artifacts/ next to the script]
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Log breakpoints and continue instead of prompting
    #[arg(long, default_value_t = false, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub no_breakpoints: bool,
    /// This exact run directory instead of a new one under --artifacts
    /// (used by `scaffold sweep`)
    #[arg(long, value_name = "DIR", hide = true)]
    pub run_dir: Option<PathBuf>,
    /// Stop at FILE:LINE without editing the script (repeatable)
    #[arg(long = "break-at", value_name = "FILE:LINE")]
    pub break_at: Vec<String>,
    /// At the end of the run (also when it fails), collect this metrics
    /// profile (YAML, see docs/metrics.md) over the run's window into
    /// results.json, when Prometheus answers
    #[arg(long, value_name = "FILE")]
    pub metrics_profile: Option<PathBuf>,
    /// Skip `fingerprint()` (the scenarios' reading of each node's kernel,
    /// CPU, governor, MTU, offloads and the CNI's configuration)
    #[arg(long, default_value_t = false)]
    pub no_fingerprint: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocsFormat {
    Markdown,
    Json,
}

/// The order of the runs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// round-robin over the grid points: repeat 1 of every point, then repeat 2, ...
    Interleaved,
    /// every repeat of a point, then the next point
    Grouped,
    /// shuffled with a seed
    Random,
}

/// Chart style of `scaffold report --plot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlotStyle {
    Bar,
    Line,
}
