//! The scenarios end to end against the fake API server, with stub
//! executables for what CI cannot run (minikube, virsh, cilium, kind,
//! netperf, ping, ip, iptables). Stubs record their arguments in
//! `calls.log` and print output in the real tools' formats; iperf3 is the
//! real one (Debian's, put in place by .ci/install-tools), client and
//! server in two fake pods talking over loopback.

use crate::util::{leftovers, tool, Project};
use fakecluster::{FakeCluster, Options};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The pod2pod tests share iperf3's port 5201 on loopback: one at a time.
static IPERF3_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cilium CLI (cilium-cli v0.19.0). `status` prints the summary and
/// exits 0 once Cilium is installed, whatever its agents report (with
/// `<installed>-errors`, an agent error); `--wait` times out with exit 1
/// until they are healthy; its
/// `--verbose` adds error detail only and never a KubeProxyReplacement
/// line (cilium-cli `status/status.go`, `status/k8s.go`). `install` and
/// `upgrade` render the chart: the `cilium-config` ConfigMap from the
/// `--set` values (and `--values FILE`), with what install auto-detects
/// (`cluster-name`) dropped by `upgrade --reset-values` unless the values
/// carry it (cilium-cli `install/upgrade.go`, helm's reset-values);
/// `install --dry-run-helm-values` prints a fresh install's values; and
/// the agent DaemonSet (`k8s-app=cilium`, container
/// `cilium-agent`) whose pods roll when the config changes.
/// `connectivity test` creates `cilium-test-1` labelled
/// `app.kubernetes.io/name=cilium-cli` and leaves it behind (cilium-cli
/// `connectivity/check/deployment.go`); a failing run prints the test
/// report (`Test [NAME]:` per failed test) and exits 1.
const CILIUM: &str = r#"case "$1 $2" in
  "connectivity test") allow "$COBRA --test --request-timeout --connect-timeout --single-node --test-namespace --junit-file" "$@";;
  *) case "$1" in
    status) allow "$COBRA --wait --wait-duration --verbose --output -o --ignore-warnings --interactive" "$@";;
    install) allow "$COBRA --version --set --set-string --set-file --values -f --dry-run-helm-values --wait --chart-directory --datapath-mode" "$@";;
    upgrade) allow "$COBRA --version --set --set-string --set-file --values -f --reset-values --reuse-values --reset-then-reuse-values --wait --dry-run-helm-values --chart-directory" "$@";;
    uninstall) allow "$COBRA --wait --chart-directory" "$@";;
    *) echo "Error: unknown command \"$1\" for \"cilium\"" >&2; exit 1;;
  esac;;
esac
case "$*" in
  "status") [ -e @INST@ ] || exit 1; echo '    /¯¯\'
    # agents in error: said, and still exit 0 (cilium-cli status/status.go)
    if [ -e @INST@-errors ]; then echo 'Cilium:             1 errors'; echo 'Errors:             cilium    cilium-x2k4p    controller endpoint-gc is failing'; else echo 'Cilium:             OK'; fi
    echo 'Operator:           OK';;
  "status --wait") { [ -e @INST@ ] && [ ! -e @INST@-errors ]; } || { echo 'Error: Unable to determine status: timeout while waiting for status to become successful: context deadline exceeded' >&2; exit 1; }
    kubectl -n kube-system rollout status ds/cilium --timeout=60s >/dev/null || exit 1; echo 'Cilium:             OK';;
  "status --verbose") [ -e @INST@ ] || exit 1; echo '    /¯¯\'; echo 'Cilium:             OK'; echo 'Operator:           OK';;
  install*--dry-run-helm-values*) echo 'cluster:'; echo '  name: minikube'; echo 'operator:'; echo '  replicas: 1'
    for a in "$@"; do case "$a" in *=*) echo "${a%%=*}: ${a#*=}";; esac; done;;
  install*|upgrade*) kpr=false; acc=disabled; lbm=snat; rm=tunnel; name=minikube
    # the values: --set pairs, and those of a --values file (upgrade); an
    # upgrade with --reset-values keeps nothing install detected
    vals=""; file=""; prev=""
    for a in "$@"; do [ "$prev" = --values ] && file=$a; prev=$a; vals="$vals $a"; done
    [ -n "$file" ] && vals="$vals $(sed -n 's/^ *\([A-Za-z.]*\): \(.*\)$/\1=\2/p' "$file" | tr '\n' ' ')"
    case "$*" in upgrade*--reset-values*) name=; for v in $vals; do [ "$v" = "name=minikube" ] && name=minikube; done;; esac
    for a in $vals; do case "$a" in kubeProxyReplacement=true) kpr=true;; loadBalancer.acceleration=native) acc=native;; loadBalancer.mode=dsr) lbm=dsr;; routingMode=native) rm=native;; esac; done
    kubectl -n kube-system create configmap cilium-config --from-literal=kube-proxy-replacement=$kpr --from-literal=bpf-lb-acceleration=$acc --from-literal=bpf-lb-mode=$lbm --from-literal=routing-mode=$rm --from-literal=cluster-name=$name --dry-run=client -o yaml | kubectl apply -f - >/dev/null || exit 1
    echo "kpr=$kpr" > @STATE@
    cat <<YAML | kubectl apply -f - >/dev/null || exit 1
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: cilium, namespace: kube-system, labels: {k8s-app: cilium}}
spec:
  selector: {matchLabels: {k8s-app: cilium}}
  template:
    metadata: {labels: {k8s-app: cilium}, annotations: {cilium.io/config: "$kpr-$acc-$lbm-$rm"}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: cilium-agent, image: "quay.io/cilium/cilium:v1.18.14", command: [sleep, "3600"]}]
YAML
    touch @INST@; echo 'ℹ️  Using Cilium version 1.18.14'; echo '🔮 Auto-detected cluster name: minikube';;
  "connectivity test") kubectl create namespace cilium-test-1 --dry-run=client -o yaml | kubectl label --local -f - app.kubernetes.io/name=cilium-cli -o yaml | kubectl apply -f - >/dev/null
    echo '✨ [minikube] Creating namespace cilium-test-1 for connectivity check...'
    if [ -e @CTFAIL@ ]; then echo '📋 Test Report [cilium-test-1]'; echo '❌ 2/60 tests failed (3/615 actions), 40 tests skipped, 1 scenarios skipped:'; echo 'Test [no-policies]:'; echo '  ❌ no-policies/pod-to-world/http-to-one.one.one.one-0: cilium-test-1/client-645b68dcf7-w7kcn (10.0.1.5) -> one.one.one.one-http (one.one.one.one:80)'; echo 'Test [to-fqdns]:'; echo '  ❌ to-fqdns/pod-to-world/http-to-one.one.one.one-0'; echo 'connectivity test failed: 2 tests failed' >&2; exit 1; fi
    echo '📋 Test Report [cilium-test-1]'; echo '✅ [cilium-test-1] All 42 tests (300 actions) successful, 18 tests skipped, 1 scenarios skipped.';;
esac
"#;

/// The agent's own CLI in its container (cilium v1.17 `cilium-dbg
/// status`, `pkg/client/client.go` FormatStatusResponse): the only place
/// that prints `KubeProxyReplacement:`, True with its devices when the
/// agent replaces kube-proxy, else False (`<state>-agent-stale` makes
/// the agents report False whatever the configuration says).
const CILIUM_DBG: &str = r#"[ "$1" = status ] && allow "$COBRA --verbose --all-addresses --all-clusters --all-controllers --all-health --all-nodes --all-redirects --brief --output -o --timeout" "$@"
case "$*" in
  "status"*) . @STATE@ 2>/dev/null
    # an agent that did not pick up the new configuration
    [ -e @STATE@-agent-stale ] && kpr=false
    echo 'KVStore:                 Disabled'
    echo 'Kubernetes:              Ok   1.32 (v1.32.0) [linux/amd64]'
    if [ "$kpr" = true ]; then echo 'KubeProxyReplacement:    True   [eth0    192.168.39.10 fe80::5054:ff:fe12:3456 (Direct Routing)]'; else echo 'KubeProxyReplacement:    False'; fi
    echo 'Cilium:                  Ok   1.18.14 (v1.18.14-d0c1c7c2)';;
  *) echo "Error: unknown command \"$1\" for \"cilium-dbg\"" >&2; exit 1;;
esac
"#;

/// `ip neigh show IP` after a ping, as on a host beside the cluster: a
/// node's InternalIP answers from that node's MAC; a LoadBalancer IP from
/// the MAC of the node MetalLB's layer2 speaker elects for it (MetalLB
/// v0.14.9 `speaker/layer2_controller.go` ShouldAnnounce: the nodes with a
/// speaker, minus those labelled
/// `node.kubernetes.io/exclude-from-external-load-balancers` or with
/// NetworkUnavailable, that an L2Advertisement's `nodeSelectors` select,
/// sorted by sha256(node + "#" + ip); the first wins); anything else has
/// no entry (prints nothing).
const IP: &str = r#"for a in "$@"; do case "$a" in -*) echo "Option \"$a\" is unknown, try \"ip -help\"." >&2; exit 255;; esac; done
[ "$1 $2" = "neigh show" ] || exit 0
exec python3 - "$3" <<'PY'
import hashlib, json, subprocess, sys
ip = sys.argv[1]
def kube(*a):
    out = subprocess.run(["kubectl", *a, "-o", "json"], capture_output=True, text=True).stdout
    return json.loads(out or "{}").get("items", [])
def mac(node):
    h = hashlib.sha256(node.encode()).hexdigest()
    return "52:54:00:%s:%s:%s" % (h[0:2], h[2:4], h[4:6])
def say(node):
    print(f"{ip} dev virbr1 lladdr {mac(node)} REACHABLE")
nodes = kube("get", "nodes")
for n in nodes:
    if any(a.get("address") == ip for a in n["status"].get("addresses", [])):
        say(n["metadata"]["name"])
        sys.exit(0)
lb = [s for s in kube("get", "services", "-A")
      if any(i.get("ip") == ip for i in (s["status"].get("loadBalancer", {}).get("ingress") or []))]
if not lb:
    sys.exit(0)
advs = kube("get", "l2advertisements.metallb.io", "-n", "metallb-system")
def selects(adv, labels):
    sels = adv.get("spec", {}).get("nodeSelectors") or []
    return not sels or any(all(labels.get(k) == v for k, v in (s.get("matchLabels") or {}).items()) for s in sels)
def usable(n):
    labels = n["metadata"].get("labels") or {}
    down = any(c.get("type") == "NetworkUnavailable" and c.get("status") == "True"
               for c in n["status"].get("conditions", []))
    return (not down and "node.kubernetes.io/exclude-from-external-load-balancers" not in labels
            and any(selects(a, labels) for a in advs))
eligible = sorted((n["metadata"]["name"] for n in nodes if usable(n)),
                  key=lambda node: hashlib.sha256(f"{node}#{ip}".encode()).digest())
if eligible:
    say(eligible[0])
PY
"#;

/// In every stub: refuse a flag the real tool does not have for that
/// subcommand, worded like cobra (cilium-cli, minikube): `allow "FLAGS"
/// ARGS...` checks ARGS up to `--`; `$COBRA` holds the flags every cobra
/// command has.
const ALLOW: &str = r#"COBRA="--help -h --context --namespace -n --kubeconfig"
allow() {
  allowed=" $1 "; shift
  for a in "$@"; do
    case "$a" in
      --) break;;
      --*=*) f="${a%%=*}";;
      -*) f="$a";;
      *) continue;;
    esac
    case "$allowed" in *" $f "*) ;; *) echo "Error: unknown flag: $f" >&2; exit 1;; esac
  done
}
"#;

/// minikube v1.38 (cobra; `cmd/minikube/cmd/start_flags.go`, `ssh.go`,
/// `stop.go`): the flags of `start`, `ssh` and `stop`; `start` refuses
/// `--cni=false` with a container runtime other than docker, as
/// `validateCNI` does (minikube exits 14 on usage errors).
const MINIKUBE: &str = r#"case "$1" in
  start) allow "--driver --nodes --network-plugin --cni --kubernetes-version --container-runtime --cpus --memory --disk-size --profile -p --wait" "$@"
    rt=docker; cni=; for a in "$@"; do case "$a" in --container-runtime=*) rt=${a#*=};; --cni=*) cni=${a#*=};; esac; done
    if [ "$cni" = false ] && [ "$rt" != docker ]; then echo "X Exiting due to MK_USAGE: The \"$rt\" container runtime requires CNI" >&2; exit 14; fi
    echo '* minikube v1.38.0'; echo '* Done! kubectl is now configured to use "minikube"';;
  ssh) allow "--node -n --native-ssh --profile -p" "$@";;
  stop) allow "--profile -p --all --keep-context-active" "$@";;
  *) echo "Error: unknown command \"$1\" for \"minikube\"" >&2; exit 1;;
esac
"#;

/// virsh (libvirt 9): `-c URI` then `dumpxml DOMAIN` or `define FILE`,
/// each with its own options; an unknown one is refused as virsh does.
const VIRSH: &str = r#"[ "$1" = -c ] && shift 2
cmd=$1; shift
case "$cmd" in
  dumpxml) ok=" --inactive --security-info --update-cpu --migratable --xpath --wrap ";;
  define) ok=" --file --validate ";;
  *) echo "error: unknown command: '$cmd'" >&2; exit 1;;
esac
for a in "$@"; do case "$a" in -*) case "$ok" in *" ${a%%=*} "*) ;; *) echo "error: command '$cmd' doesn't support option $a" >&2; exit 1;; esac;; esac; done
case "$cmd" in
  dumpxml) echo "<domain type='kvm'><name>$1</name><devices><interface type='network'><model type='virtio'/></interface></devices></domain>";;
esac
"#;

/// Stub executables in `<project>/bin`; each appends "NAME ARGS" to
/// `<project>/calls.log`. A file `<project>/fail-NAME` makes NAME exit 1.
/// With `iperf3`, the real program is linked in beside them.
fn stubs(p: &Project, kubeconfig: &Path) -> PathBuf {
    stubs_with(p, kubeconfig, None)
}

fn stubs_with(p: &Project, kubeconfig: &Path, iperf3: Option<&Path>) -> PathBuf {
    let bin = p.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = p.path().join("calls.log");
    let head = |name: &str| {
        format!(
            "#!/bin/sh\necho \"{name} $*\" >> {log}\nif [ -e {fail} ]; then echo \"{name}: injected failure\" >&2; exit 1; fi\n{ALLOW}",
            log = log.display(),
            fail = p.path().join(format!("fail-{name}")).display(),
            ALLOW = ALLOW
        )
    };
    let tools: Vec<(&str, String)> = vec![
        (
            "netperf",
            // -k output of the keys asked for, like netperf 2.7
            r#"case "$*" in
  *TCP_RR*) echo "MIGRATED TCP REQUEST/RESPONSE TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to $3 () port 12866 AF_INET : first burst 0"
    printf 'MIN_LATENCY=21\nMEAN_LATENCY=35.50\nP50_LATENCY=33\nP90_LATENCY=41\nP99_LATENCY=58\nMAX_LATENCY=210\nTRANSACTION_RATE=28011.23\n' ;;
  # connections for real, through the project's connection-rate tool
  *TCP_CRR*) exec python3 @CRR@ client "$2" 12866 "$6" ;;
  # UDP_STREAM -k output, hand-made from the netperf manual's Omni
  # Output Selectors (LOCAL_SEND_CALLS, REMOTE_RECV_CALLS, ELAPSED_TIME)
  *UDP_STREAM*) echo "MIGRATED UDP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to $2 () port 12866 AF_INET"
    printf 'THROUGHPUT=512.00\nTHROUGHPUT_UNITS=10^6bits/s\nLOCAL_SEND_SIZE=64\nLOCAL_SEND_CALLS=10000000\nREMOTE_RECV_CALLS=9500000\nELAPSED_TIME=10.00\n' ;;
  *) echo "MIGRATED TCP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to $3 () port 12866 AF_INET"
    printf 'THROUGHPUT=9387.45\nTHROUGHPUT_UNITS=10^6bits/s\nLOCAL_TRANSPORT_RETRANS=12\nELAPSED_TIME=60.00\n' ;;
esac
"#
            .replace("@CRR@", &repo().join("tests/tools/crr.py").display().to_string()),
        ),
        // answers TCP_CRR's connections on the data port
        (
            "netserver",
            format!("exec python3 {} serve 12866\n", repo().join("tests/tools/crr.py").display()),
        ),
        ("ping", "echo \"PING $4 ($4) 56(84) bytes of data.\"; echo \"64 bytes from $4: icmp_seq=1 ttl=64 time=0.3 ms\"\n".into()),
        ("ip", IP.into()),
        ("iptables-save", "echo '*nat'; echo ':KUBE-SERVICES - [0:0]'; echo '-A PREROUTING -j KUBE-SERVICES'; echo 'COMMIT'\n".into()),
        ("iptables-restore", "cat > /dev/null\n".into()),
        (
            "minikube",
            MINIKUBE.into(),
        ),
        (
            "virsh",
            VIRSH.into(),
        ),
        (
            "cilium",
            CILIUM
                .replace("@INST@", &p.path().join("cilium-installed").display().to_string())
                .replace("@STATE@", &p.path().join("cilium-state").display().to_string())
                .replace("@CTFAIL@", &p.path().join("ct-fail").display().to_string()),
        ),
        (
            "cilium-dbg",
            CILIUM_DBG.replace("@STATE@", &p.path().join("cilium-state").display().to_string()),
        ),
        (
            "kind",
            format!(
                // like kind: create writes the new context into ~/.kube/config, delete removes it
                "case \"$1 $2\" in\n  \"create cluster\") cat > /dev/null; echo 'Creating cluster ...'; mkdir -p \"$HOME/.kube\"; sed 's/kind-kind/kind-'\"$4\"'/g' {kc} > \"$HOME/.kube/config\";;\n  \"delete cluster\") rm -f \"$HOME/.kube/config\";;\n  \"get kubeconfig\") sed 's/kind-kind/kind-'\"$4\"'/g' {kc};;\nesac\n",
                kc = kubeconfig.display()
            ),
        ),
        ("docker", String::new()),
    ];
    if let Some(real) = iperf3 {
        std::os::unix::fs::symlink(real, bin.join("iperf3")).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    for (name, body) in tools {
        let f = bin.join(name);
        std::fs::write(&f, head(name) + body.as_str()).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// The fake cluster of these tests: three kind-like nodes, pods on
/// loopback addresses, the benchmark image runnable, stubs as its tools.
fn cluster(bin: &Path) -> FakeCluster {
    cluster_of(3, bin)
}

fn cluster_of(nodes: usize, bin: &Path) -> FakeCluster {
    cluster_with(nodes, bin, vec![])
}

/// [`cluster_of`] whose kubelet runs these images as this machine's
/// programs (`Options::image_programs`).
fn cluster_with(nodes: usize, bin: &Path, image_programs: Vec<(String, String)>) -> FakeCluster {
    let mut runnable = Options::default().runnable;
    runnable.push("quay.io/cilium/network-perf".into());
    // the agent's container: `cilium-dbg` runs in it (kubectl exec)
    runnable.push("quay.io/cilium/cilium".into());
    FakeCluster::start(Options {
        nodes,
        runnable,
        loopback_ips: true,
        image_bin: Some(bin.to_path_buf()),
        image_programs,
        // Services answer on their cluster IPs (TCP), as kube-proxy would
        service_dataplane: true,
        ..Default::default()
    })
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        bin.display()
    )
}

fn calls(p: &Project) -> Vec<String> {
    std::fs::read_to_string(p.path().join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn step_names(r: &Value) -> Vec<String> {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

fn samples(r: &Value, name: &str) -> Vec<f64> {
    let rec = &r["records"][name];
    match rec["samples"].as_array() {
        Some(a) => a.iter().map(|v| v.as_f64().unwrap()).collect(),
        None => rec["value"].as_f64().into_iter().collect(),
    }
}

/// pod2pod on the current (fake) cluster, both overlays, the real iperf3
/// moving data over loopback.
#[test]
fn pod2pod_on_the_current_cluster() {
    let Some(iperf3) = tool("iperf3", "pod2pod_on_the_current_cluster") else {
        return;
    };
    let _port = IPERF3_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let p = Project::new();
    let bin = stubs_with(&p, Path::new("/nonexistent"), Some(&iperf3));
    let fc = cluster(&bin);
    let script = repo().join("scenarios/pod2pod/main.rhai");
    let run = |overlay: &str, art: &str| {
        let out = p
            .cmd()
            .args(["script"])
            .arg(&script)
            .args(["--set", "runs=2", "--set", "duration=1", "--set"])
            .arg(format!("overlay={overlay}"))
            .args(["--artifacts", art])
            .env("KUBECONFIG", fc.kubeconfig())
            .env("PATH", path_with(&bin))
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        let e = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{overlay}: {e}\n{s}");
        (s, p.results_in(&p.path().join(art)))
    };
    let (out, r) = run("pod", "art-pod");
    assert_eq!(
        step_names(&r),
        [
            "cluster",
            "label nodes",
            "deploy pod2pod (pod)",
            "find the pods",
            "throughput run 1/2",
            "throughput run 2/2",
            "latency run 1/2",
            "latency run 2/2"
        ]
    );
    // data really moved over loopback: a real, positive throughput per run
    let t = samples(&r, "pod2pod_throughput");
    assert_eq!(t.len(), 2, "{r}");
    assert!(t.iter().all(|x| *x > 0.01), "{t:?}");
    assert_eq!(r["records"]["pod2pod_throughput"]["unit"], "Gbit/s");
    assert_eq!(r["records"]["pod2pod_throughput"]["tags"]["overlay"], "pod");
    assert_eq!(samples(&r, "pod2pod_rr_latency_p50_us"), vec![33.0, 33.0]);
    assert!(
        out.contains("throughput (Gbit/s)") && out.contains("95% CI"),
        "{out}"
    );
    let squeezed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        squeezed.contains("rr latency p50 (us) 2 33.0 33.0"),
        "{out}"
    );
    assert!(
        out.contains("scaffold report ") && out.contains("art-pod"),
        "{out}"
    );
    // the objects: the topology with the benchmark image, pinned by role
    let server = fc
        .get("apps/v1", "Deployment", "default", "pod2pod-server")
        .unwrap();
    let c = &server["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["name"], "main");
    assert!(c["image"]
        .as_str()
        .unwrap()
        .starts_with("quay.io/cilium/network-perf:a816f93"));
    let nodes = fc.list("v1", "Node");
    let with = |label: &str| {
        nodes
            .iter()
            .filter(|n| n["metadata"]["labels"][label] == "true")
            .count()
    };
    assert_eq!(with("role.scaffolding/pod2pod-client"), 1);
    assert_eq!(with("role.scaffolding/pod2pod-server"), 1);
    assert_eq!(with("role.scaffolding/monitored"), 3);
    assert!(fc
        .get("v1", "Service", "default", "pod2pod-server")
        .is_none());
    // netperf ran in the client pod against the server pod's IP
    let np: Vec<String> = calls(&p)
        .into_iter()
        .filter(|l| l.starts_with("netperf "))
        .collect();
    assert_eq!(np.len(), 2);
    assert!(
        np[0].contains("-H 127.0.") && np[0].contains("-t TCP_RR"),
        "{np:?}"
    );
    // no kind cluster was made: the current one answered
    assert!(!calls(&p).iter().any(|l| l.starts_with("kind ")));

    // the service overlay adds the Service and measures through it
    let (_, r) = run("service", "art-svc");
    let svc = fc
        .get("v1", "Service", "default", "pod2pod-server")
        .unwrap();
    let ip = svc["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(samples(&r, "pod2pod_throughput").iter().all(|x| *x > 0.01));
    assert!(
        calls(&p)
            .iter()
            .any(|l| l.starts_with("netperf ") && l.contains(&format!("-H {ip} "))),
        "netperf through the Service's IP {ip}"
    );
    // scaffold report reads both runs
    let out = p
        .cmd()
        .args(["report", "art-pod/latest", "art-svc/latest"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("overlay=pod") && s.contains("overlay=service"),
        "{s}"
    );
}

/// pod2pod's packet-rate and connection-rate tests with the CPU cost:
/// the real iperf3 sends 64-byte UDP datagrams over loopback (its `-u -J`
/// output parsed as it came), TCP_CRR makes real connections through the
/// project's connection-rate tool, and the two nodes' CPU time is read
/// through node sessions around each run.
#[test]
fn pod2pod_packets_connections_and_cpu() {
    let Some(iperf3) = tool("iperf3", "pod2pod_packets_connections_and_cpu") else {
        return;
    };
    let _port = IPERF3_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let p = Project::new();
    let bin = stubs_with(&p, Path::new("/nonexistent"), Some(&iperf3));
    let fc = cluster(&bin);
    let out = p
        .cmd()
        .args(["script"])
        .arg(repo().join("scenarios/pod2pod/main.rhai"))
        .args([
            "--set",
            "test=pps, crr",
            "--set",
            "runs=2",
            "--set",
            "duration=1",
        ])
        .args(["--set", "streams=2", "--artifacts", "art"])
        .env("KUBECONFIG", fc.kubeconfig())
        .env("PATH", path_with(&bin))
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{e}\n{s}");
    let r = p.results_in(&p.path().join("art"));
    let names = step_names(&r);
    assert_eq!(
        names[4..],
        [
            "packet rate run 1/2",
            "packet rate run 2/2",
            "connection rate run 1/2",
            "connection rate run 2/2"
        ]
    );
    // iperf3 -u -l 64 -b 0 -P 2 ran for real
    let sent = samples(&r, "pod2pod_pps_pps_sent");
    let got = samples(&r, "pod2pod_pps_pps_received");
    assert_eq!(sent.len(), 2, "{r}");
    assert!(sent.iter().all(|x| *x > 1000.0), "{sent:?}");
    assert!(
        got.iter().zip(&sent).all(|(g, s)| *g > 0.0 && g <= s),
        "{got:?} {sent:?}"
    );
    let loss = samples(&r, "pod2pod_pps_loss_percent");
    assert!(loss.iter().all(|l| (0.0..100.0).contains(l)), "{loss:?}");
    assert_eq!(samples(&r, "pod2pod_pps_jitter_ms").len(), 2);
    assert_eq!(r["records"]["pod2pod_pps_pps_sent"]["unit"], "packets/s");
    // real connections, each its own
    let crr = samples(&r, "pod2pod_crr_transactions");
    assert!(crr.iter().all(|x| *x > 50.0), "{crr:?}");
    assert!(samples(&r, "pod2pod_crr_latency_p99_us")[0] > 0.0);
    // the CPU cost of each run, in total and per role
    for name in [
        "pod2pod_pps_cpu_seconds",
        "pod2pod_pps_cpu_seconds_per_mpkt",
        "pod2pod_pps_cpu_client_seconds",
        "pod2pod_pps_cpu_server_seconds",
        "pod2pod_crr_cpu_seconds_per_mtrans",
    ] {
        let v = samples(&r, name);
        assert_eq!(v.len(), 2, "{name}: {r}");
        assert!(v.iter().all(|x| *x > 0.0), "{name}: {v:?}");
    }
    assert_eq!(
        r["records"]["pod2pod_pps_cpu_seconds_per_mpkt"]["unit"],
        "s/Mpacket"
    );
    assert!(r["records"]["pod2pod_throughput"].is_null());
    let squeezed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squeezed.contains("pps received (packets/s) 2 "), "{s}");
    assert!(squeezed.contains("crr connections (1/s) 2 "), "{s}");
    assert!(squeezed.contains("pps cpu per M packets (s) 2 "), "{s}");
    // the session pods are gone
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
    // a test it does not know is refused before anything runs
    let out = p
        .cmd()
        .args(["script"])
        .arg(repo().join("scenarios/pod2pod/main.rhai"))
        .args(["--set", "test=stream,udp"])
        .env("KUBECONFIG", fc.kubeconfig())
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        e.contains("test must be a list of stream, rr, crr and pps, not 'udp'"),
        "{e}"
    );
}

/// No cluster and no kind: fails at once, saying what to install.
#[test]
fn pod2pod_without_cluster_or_kind() {
    let p = Project::new();
    let bin = p.path().join("empty-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let t = std::time::Instant::now();
    let out = p
        .cmd()
        .args(["script"])
        .arg(repo().join("scenarios/pod2pod/main.rhai"))
        .args(["--artifacts", "art"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("no cluster answers and kind or docker is missing")
            && e.contains("https://kind.sigs.k8s.io"),
        "{e}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
}

/// No current cluster but kind + docker: a kind cluster is created, used,
/// and deleted at the end, also when the run fails half-way (results.json
/// still written); `keep=true` keeps it, and the next run reuses it.
#[test]
fn pod2pod_creates_and_deletes_a_kind_cluster() {
    let Some(iperf3) = tool("iperf3", "pod2pod_creates_and_deletes_a_kind_cluster") else {
        return;
    };
    let _port = IPERF3_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let p = Project::new();
    let fc = cluster(&p.path().join("bin"));
    let bin = stubs_with(&p, fc.kubeconfig(), Some(&iperf3));
    let run = |art: &str, extra: &[&str]| {
        p.cmd()
            .args(["script"])
            .arg(repo().join("scenarios/pod2pod/main.rhai"))
            .args(["--set", "runs=1", "--set", "duration=1", "--artifacts", art])
            .args(extra)
            .env("PATH", path_with(&bin))
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap()
    };
    let kind_calls = || -> Vec<String> {
        calls(&p)
            .into_iter()
            .filter(|l| l.starts_with("kind create") || l.starts_with("kind delete"))
            .collect()
    };
    let kubeconfig = p.path().join("home/.kube/config");

    let out = run("art", &[]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    let kind = kind_calls();
    assert_eq!(kind.len(), 2, "{kind:?}");
    assert!(
        kind[0].starts_with("kind create cluster --name scaffold-pod2pod"),
        "{kind:?}"
    );
    assert_eq!(kind[1], "kind delete cluster --name scaffold-pod2pod");
    assert!(!kubeconfig.exists());

    // netperf fails after the throughput runs: the error is reported,
    // results.json keeps what was measured, the cluster is still deleted
    std::fs::write(p.path().join("fail-netperf"), "").unwrap();
    let out = run("art-fail", &[]);
    std::fs::remove_file(p.path().join("fail-netperf")).unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("netperf: injected failure"), "{e}");
    let r = p.results_in(&p.path().join("art-fail"));
    assert_eq!(r["outcome"], "error");
    assert!(r["error"].as_str().unwrap().contains("netperf"), "{r}");
    assert_eq!(samples(&r, "pod2pod_throughput").len(), 1, "{r}");
    let steps = step_names(&r);
    assert_eq!(steps.last().unwrap(), "latency run 1/1", "{steps:?}");
    let kind = kind_calls();
    assert_eq!(kind.len(), 4, "{kind:?}");
    assert_eq!(kind[3], "kind delete cluster --name scaffold-pod2pod");

    // keep=true: created, not deleted ...
    let out = run("art-keep", &["--set", "keep=true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kind = kind_calls();
    assert_eq!(kind.len(), 5, "{kind:?}");
    assert!(kind[4].starts_with("kind create"), "{kind:?}");
    assert!(kubeconfig.exists());
    // ... and the next run uses it as the current cluster
    let out = run("art-reuse", &[]);
    let s = String::from_utf8_lossy(&out.stdout);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    assert_eq!(kind_calls().len(), 5, "{:?}", kind_calls());
    assert!(
        format!("{s}{e}").contains("using the current cluster (context kind-scaffold-pod2pod)"),
        "{s}{e}"
    );
}

/// What the xdp test cluster needs beyond nodes: kube-proxy to remove and
/// the Prometheus CRDs (the real ones come from a pinned remote release).
fn seed_xdp(fc: &FakeCluster) {
    fc.seed_yaml(
        r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: kube-proxy, image: registry.k8s.io/kube-proxy:v1.33.4}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-proxy, namespace: kube-system}
data: {config.conf: "mode: iptables"}
"#,
    )
    .unwrap();
    for (plural, kind) in [
        ("prometheuses", "Prometheus"),
        ("servicemonitors", "ServiceMonitor"),
    ] {
        fc.seed(serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.monitoring.coreos.com")},
            "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
                "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
        .unwrap();
    }
}

/// A stand-in for MetalLB's native manifests: namespace, CRDs, controller.
const METALLB: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: metallb-system}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ipaddresspools.metallb.io}
spec:
  group: metallb.io
  scope: Namespaced
  names: {plural: ipaddresspools, singular: ipaddresspool, kind: IPAddressPool}
  versions: [{name: v1beta1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: l2advertisements.metallb.io}
spec:
  group: metallb.io
  scope: Namespaced
  names: {plural: l2advertisements, singular: l2advertisement, kind: L2Advertisement}
  versions: [{name: v1beta1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: controller, namespace: metallb-system}
spec:
  selector: {matchLabels: {app: metallb}}
  template:
    metadata: {labels: {app: metallb}}
    spec:
      containers: [{name: controller, image: quay.io/metallb/controller:v0.14.9}]
"#;

/// The kubeconfig of `fc` with its context renamed (minikube or not).
fn kubeconfig_as(p: &Project, fc: &FakeCluster, context: &str) -> PathBuf {
    let text = std::fs::read_to_string(fc.kubeconfig()).unwrap();
    let path = p.path().join(format!("kubeconfig-{context}"));
    std::fs::write(&path, text.replace("kind-kind", context)).unwrap();
    path
}

/// A sweep over the xdp modes in an order that changes the cluster every
/// time (xdp, nkpr, kpr): each run reconfigures Cilium and kube-proxy to its
/// own mode and records the mode Cilium really runs in; nkpr after a
/// kube-proxy-free mode brings kube-proxy back, and without a kept copy it
/// fails instead of measuring the wrong configuration.
#[test]
fn xdp_sweep_runs_every_mode_in_its_own_configuration() {
    let p = Project::new();
    let fc = cluster_of(4, &p.path().join("bin"));
    let bin = stubs(&p, fc.kubeconfig());
    seed_xdp(&fc);
    let metallb = p.file("metallb-native.yaml", METALLB);
    let kc = kubeconfig_as(&p, &fc, "minikube");
    let out = p
        .cmd()
        .args(["sweep"])
        .arg(repo().join("scenarios/xdp/main.rhai"))
        .args([
            "--grid",
            "mode=xdp,nkpr,kpr",
            "--order",
            "grouped",
            "--artifacts",
            "sweeps",
        ])
        .args(["--set", "duration=1", "--set", "skip_ct=true"])
        .args([
            "--set",
            "monitoring_node=kind-worker",
            "--set",
            "server_node=kind-worker2",
        ])
        .args(["--set", "lb_node=kind-worker3", "--set", "wait_timeout=30"])
        .env("KUBECONFIG", &kc)
        .env("PATH", path_with(&bin))
        .env("SCAFFOLD_METALLB_MANIFEST", &metallb)
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    let dir = std::fs::read_dir(p.path().join("sweeps"))
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .find(|d| d.join("sweep.json").is_file())
        .unwrap();
    let sweep: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    for r in sweep["runs"].as_array().unwrap() {
        let res: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(r["dir"].as_str().unwrap()).join("results.json"))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            res["records"]["cilium_mode"]["value"], r["point"]["mode"],
            "run {} measured in another mode",
            r["dir"]
        );
        // 28.4: each mode does what it should, as the cluster says
        let rec = |k: &str| res["records"][k]["value"].clone();
        let want = match r["point"]["mode"].as_str().unwrap() {
            "nkpr" => (true, false, "disabled"),
            "kpr" => (false, true, "disabled"),
            _ => (false, true, "native"),
        };
        assert_eq!(
            (
                rec("kube_proxy"),
                rec("kube_proxy_replacement"),
                rec("lb_acceleration")
            ),
            (
                serde_json::json!(want.0),
                serde_json::json!(want.1),
                serde_json::json!(want.2)
            ),
            "run {}",
            r["dir"]
        );
    }
    let c = calls(&p);
    assert_eq!(
        c.iter()
            .filter(|l| l.starts_with("cilium install") && !l.contains("--dry-run-helm-values"))
            .count(),
        1,
        "{c:#?}"
    );
    let upgrades: Vec<&String> = c
        .iter()
        .filter(|l| l.starts_with("cilium upgrade"))
        .collect();
    assert_eq!(upgrades.len(), 2, "{c:#?}");
    // 28 (next in line): a reconfigured Cilium has a fresh install's
    // values, auto-detected ones included
    assert!(
        upgrades.iter().all(|u| u.contains("--values ")),
        "{upgrades:?}"
    );
    let cm = fc
        .get("v1", "ConfigMap", "kube-system", "cilium-config")
        .unwrap();
    assert_eq!(cm["data"]["cluster-name"], "minikube", "{cm}");
    assert!(
        !upgrades[0].contains("kubeProxyReplacement=true")
            && upgrades[0].contains("--reset-values")
    );
    assert!(
        upgrades[1].contains("kubeProxyReplacement=true") && !upgrades[1].contains("acceleration")
    );
    assert!(
        e.contains("kube_proxy: restored from kube-system/kube-proxy-saved"),
        "{e}"
    );
    // after kpr: no kube-proxy; without the kept copy nkpr cannot be honest
    assert!(fc
        .get("apps/v1", "DaemonSet", "kube-system", "kube-proxy")
        .is_none());
    fc.delete("v1", "ConfigMap", "kube-system", "kube-proxy-saved")
        .unwrap();
    let out = p
        .cmd()
        .args(["script"])
        .arg(repo().join("scenarios/xdp/main.rhai"))
        .args([
            "--set",
            "mode=nkpr",
            "--set",
            "duration=1",
            "--set",
            "skip_ct=true",
            "--artifacts",
            "art-nkpr",
        ])
        .args([
            "--set",
            "monitoring_node=kind-worker",
            "--set",
            "server_node=kind-worker2",
        ])
        .args(["--set", "lb_node=kind-worker3"])
        .env("KUBECONFIG", &kc)
        .env("PATH", path_with(&bin))
        .env("SCAFFOLD_METALLB_MANIFEST", &metallb)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("no copy was kept"), "{e}");
    let r = p.results_in(&p.path().join("art-nkpr"));
    assert!(
        r["records"]["netperf_throughput"].is_null(),
        "nothing measured"
    );
}

#[test]
fn xdp_end_to_end() {
    let p = Project::new();
    // three workers like minikube's three untainted nodes
    let fc = cluster_of(4, &p.path().join("bin"));
    let bin = stubs(&p, fc.kubeconfig());
    seed_xdp(&fc);
    let metallb = p.file("metallb-native.yaml", METALLB);
    let run = |kubeconfig: &Path, mode: &str, art: &str| {
        run_xdp_in(
            art,
            &p,
            &bin,
            kubeconfig,
            &metallb,
            &[&format!("mode={mode}"), "test=stream,crr,pps"],
        )
    };

    // first run: not a minikube context, so the cluster is "created"
    let out = run(&kubeconfig_as(&p, &fc, "other"), "xdp", "art1");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    let r = p.results_in(&p.path().join("art1"));
    assert_eq!(
        step_names(&r),
        [
            "minikube cluster",
            "NIC queues",
            "node settings",
            "label nodes",
            "cluster facts",
            "cilium xdp",
            "metallb",
            "deploy monitoring and netperf server",
            "wait ready",
            "load balancer IP",
            "verify LB MAC",
            "netperf 1 s",
            "netperf crr 1 s",
            "netperf pps 1 s"
        ]
    );
    let c = calls(&p);
    let pos = |prefix: &str| {
        c.iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no call '{prefix}' in {c:#?}"))
    };
    assert!(c[pos("minikube start")].contains("--driver=kvm2 --nodes=3"));
    // 28.3: a Kubernetes pinned to one Cilium documents as tested
    assert!(c[pos("minikube start")].contains("--kubernetes-version=v1.33.4"));
    assert!(pos("minikube start") < pos("virsh -c qemu:///system dumpxml kind-worker"));
    assert!(pos("virsh -c qemu:///system define") < pos("minikube stop"));
    // 28 (next in line): rp_filter off per interface and after a reboot
    let rp = c
        .iter()
        .filter(|l| l.contains("rp_filter"))
        .collect::<Vec<_>>();
    assert_eq!(rp.len(), 3, "{rp:?}");
    for l in rp {
        assert!(
            l.contains("/etc/sysctl.d/99-scaffold-rp-filter.conf")
                && l.contains("net.ipv4.conf.*.rp_filter = 0")
                && l.contains("/proc/sys/net/ipv4/conf/*/rp_filter"),
            "{l}"
        );
    }
    // kube-proxy saved and removed, its rules dropped on every node, before Cilium
    assert!(fc
        .get("apps/v1", "DaemonSet", "kube-system", "kube-proxy")
        .is_none());
    assert_eq!(
        c.iter()
            .filter(|l| l.starts_with("iptables-restore"))
            .count(),
        4
    );
    assert!(pos("iptables-restore") < pos("cilium install"));
    let install = &c[pos("cilium install")];
    for v in [
        "--version 1.18.14",
        "kubeProxyReplacement=true",
        "routingMode=native",
        "ipv4NativeRoutingCIDR=",
        "autoDirectNodeRoutes=true",
        "loadBalancer.mode=dsr",
        "loadBalancer.acceleration=native",
        "k8sServicePort=",
        "endpointRoutes.enabled=true",
    ] {
        assert!(install.contains(v), "{v} missing: {install}");
    }
    assert!(pos("cilium connectivity test") > pos("cilium install"));
    // 28.1: kube-proxy replacement asked of every agent (cilium-dbg in its
    // container, one per node; twice: verified, then recorded), not of
    // cilium-cli, which never says
    assert_eq!(
        c.iter()
            .filter(|l| l.starts_with("cilium-dbg status"))
            .count(),
        8,
        "{c:#?}"
    );
    assert!(!c.iter().any(|l| l.starts_with("cilium status --verbose")));
    // 28.4: the connectivity test's namespace (cilium-test-1) is gone
    assert!(fc.get("v1", "Namespace", "", "cilium-test-1").is_none());
    // the objects of the scenario
    let svc = fc
        .get("v1", "Service", "default", "pod2pod-server")
        .unwrap();
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    assert!(fc
        .get("apps/v1", "Deployment", "default", "pod2pod-client")
        .is_none());
    let server = fc
        .get("apps/v1", "Deployment", "default", "pod2pod-server")
        .unwrap();
    assert_eq!(
        server["spec"]["template"]["spec"]["containers"][0]["command"][0],
        "netserver"
    );
    assert!(fc
        .get("apps/v1", "Deployment", "monitoring", "grafana")
        .is_some());
    assert!(fc
        .get(
            "monitoring.coreos.com/v1",
            "Prometheus",
            "monitoring",
            "prometheus"
        )
        .is_some());
    assert!(fc
        .get(
            "metallb.io/v1beta1",
            "IPAddressPool",
            "metallb-system",
            "scaffold-pool"
        )
        .is_some());
    let lb = fc.list("v1", "Node");
    assert!(lb.iter().any(|n| n["metadata"]["name"] == "kind-worker3"
        && n["metadata"]["labels"]["role.scaffolding/lb"] == "true"));
    // netperf from the host to the LB IP's data port, recorded and saved
    let np = &c[pos("netperf ")];
    let lb_ip = r["records"]["lb_ip"]["value"].as_str().unwrap();
    assert!(
        np.contains(&format!("-H {lb_ip} ")) && np.contains("-P ,12866"),
        "{np}"
    );
    assert_eq!(r["records"]["netperf_throughput"]["value"], 9.38745);
    assert_eq!(r["records"]["netperf_throughput"]["tags"]["mode"], "xdp");
    // 30: connections for real through the LB IP, UDP_STREAM parsed, and
    // the lb and server nodes' CPU time around each test
    let rec = &r["records"];
    assert!(
        rec["netperf_crr_transactions"]["value"].as_f64().unwrap() > 50.0,
        "{rec}"
    );
    assert_eq!(rec["netperf_pps_pps_received"]["value"], 950000.0);
    assert_eq!(rec["netperf_pps_loss_percent"]["value"], 5.0);
    assert!(c
        .iter()
        .any(|l| l.starts_with("netperf ") && l.contains("-t UDP_STREAM") && l.contains("-m 64")));
    for name in [
        "netperf_cpu_seconds_per_gbit",
        "netperf_cpu_lb_seconds",
        "netperf_cpu_server_seconds",
        "netperf_crr_cpu_seconds_per_mtrans",
        "netperf_pps_cpu_seconds_per_mpkt",
        "netperf_pps_cpu_lb_seconds_per_mpkt",
    ] {
        assert!(rec[name]["value"].as_f64().unwrap() > 0.0, "{name}: {rec}");
    }
    assert_eq!(
        rec["netperf_cpu_lb_seconds"]["tags"]["node"],
        "kind-worker3"
    );
    let dir = p.path().join("art1/latest/netperf");
    let mut saved: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    saved.sort();
    assert_eq!(saved.len(), 3, "{saved:?}");
    for (s, prefix) in saved
        .iter()
        .zip(["netperf-crr-xdp-", "netperf-pps-xdp-", "netperf-xdp-"])
    {
        assert!(s.starts_with(prefix), "{saved:?}");
    }
    // the breakpoint before netperf (logged and skipped without a terminal)
    // names the Grafana port-forward it opened, and the login
    assert!(
        e.contains("Grafana is at http://127.0.0.1:") && e.contains("(admin / admin)"),
        "{e}"
    );

    // second run on the minikube context: reused, Cilium not reinstalled
    let before = calls(&p).len();
    let out = run(&kubeconfig_as(&p, &fc, "minikube"), "xdp", "art2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: Vec<String> = calls(&p)[before..].to_vec();
    assert!(
        !again
            .iter()
            .any(|l| l.starts_with("minikube start") || l.starts_with("virsh")),
        "{again:#?}"
    );
    assert!(
        !again.iter().any(|l| l.starts_with("cilium install")),
        "{again:#?}"
    );
    let r2 = p.results_in(&p.path().join("art2"));
    assert!(!step_names(&r2).contains(&"NIC queues".to_string()));

    // a failure in the middle: results written, nothing of ours left behind
    std::fs::write(p.path().join("fail-netperf"), "").unwrap();
    let out = run(&kubeconfig_as(&p, &fc, "minikube"), "kpr", "art3");
    assert_eq!(out.status.code(), Some(1));
    let r3 = p.results_in(&p.path().join("art3"));
    assert_eq!(r3["outcome"], "error");
    assert!(
        r3["error"]
            .as_str()
            .unwrap()
            .contains("netperf exited with 1"),
        "{r3}"
    );
    assert_eq!(
        r3["steps"].as_array().unwrap().last().unwrap()["outcome"],
        "error"
    );
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
    // and the three runs compare
    let out = p
        .cmd()
        .args(["report", "art1/latest", "art3/latest"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("mode=xdp") && s.contains("mode=kpr") && s.contains("error"),
        "{s}"
    );
}

/// The xdp scenario on the fake with the stubs, kind-worker, kind-worker2
/// and kind-worker3 as its monitoring, server and lb nodes, netperf for
/// 1 s, results under `<project>/<art>`; `set` adds `--set` pairs.
fn run_xdp_in(
    art: &str,
    p: &Project,
    bin: &Path,
    kubeconfig: &Path,
    metallb: &Path,
    set: &[&str],
) -> std::process::Output {
    let mut c = p.cmd();
    c.arg("script")
        .arg(repo().join("scenarios/xdp/main.rhai"))
        .args(["--set", "duration=1", "--set", "wait_timeout=30"])
        .args(["--set", "monitoring_node=kind-worker"])
        .args(["--set", "server_node=kind-worker2"])
        .args(["--set", "lb_node=kind-worker3"])
        .args(["--artifacts", art]);
    for kv in set {
        c.args(["--set", kv]);
    }
    c.env("KUBECONFIG", kubeconfig)
        .env("PATH", path_with(bin))
        .env("SCAFFOLD_METALLB_MANIFEST", metallb)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap()
}

/// [`run_xdp_in`] with the results under `<project>/art`.
fn run_xdp(
    p: &Project,
    bin: &Path,
    kubeconfig: &Path,
    metallb: &Path,
    set: &[&str],
) -> std::process::Output {
    run_xdp_in("art", p, bin, kubeconfig, metallb, set)
}

/// 28.1 and 28.4: an agent that does not replace kube-proxy fails kpr and
/// xdp (asked of the agent, as only `cilium-dbg status` says); a failing
/// connectivity test names its failed tests and still leaves no test
/// namespace behind.
#[test]
fn xdp_kpr_is_asked_of_the_agents_and_a_failed_connectivity_test_names_its_tests() {
    let p = Project::new();
    let fc = cluster_of(4, &p.path().join("bin"));
    let bin = stubs(&p, fc.kubeconfig());
    seed_xdp(&fc);
    let metallb = p.file("metallb-native.yaml", METALLB);
    let kubeconfig = kubeconfig_as(&p, &fc, "minikube");
    let run = |mode: &str| run_xdp(&p, &bin, &kubeconfig, &metallb, &[&format!("mode={mode}")]);
    std::fs::write(p.path().join("ct-fail"), "").unwrap();
    let out = run("kpr");
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("cilium: the connectivity test failed (2 failed: no-policies, to-fqdns)"),
        "{e}"
    );
    assert!(
        fc.get("v1", "Namespace", "", "cilium-test-1").is_none(),
        "left behind"
    );
    std::fs::remove_file(p.path().join("ct-fail")).unwrap();
    // the configuration says kpr, the agents do not: the run stops there
    std::fs::write(p.path().join("cilium-state-agent-stale"), "").unwrap();
    let out = run("kpr");
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("cilium: kube-proxy replacement is not on in agent cilium-")
            && e.contains("KubeProxyReplacement:    False"),
        "{e}"
    );
}

/// 28.2: the LB IP is announced from the lb node only: the L2Advertisement
/// selects it (and a `role.scaffolding/lb` label another node kept from an
/// earlier run is removed); when MetalLB cannot announce from it the LB MAC
/// check fails and says why. The `ip` stub elects the announcing node by
/// MetalLB's own rule, checked here against sha256(node#ip).
#[test]
fn xdp_lb_ip_is_announced_from_the_lb_node_only() {
    use sha2::Digest;
    let p = Project::new();
    let fc = cluster_of(4, &p.path().join("bin"));
    let bin = stubs(&p, fc.kubeconfig());
    seed_xdp(&fc);
    let metallb = p.file("metallb-native.yaml", METALLB);
    let kubeconfig = kubeconfig_as(&p, &fc, "minikube");
    let run = || {
        run_xdp(
            &p,
            &bin,
            &kubeconfig,
            &metallb,
            &["mode=kpr", "skip_ct=true"],
        )
    };
    let label = |node: &str, key: &str, value: Option<&str>| {
        fc.update("v1", "Node", "", node, |n| match value {
            Some(v) => n["metadata"]["labels"][key] = serde_json::json!(v),
            None => {
                if let Some(m) = n["metadata"]["labels"].as_object_mut() {
                    m.remove(key);
                }
            }
        })
        .unwrap();
    };
    // an earlier run's lb node still labelled
    label("kind-worker2", "role.scaffolding/lb", Some("true"));
    let out = run();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    assert!(
        e.contains("LB IP ") && e.contains(" is on kind-worker3 ("),
        "{e}"
    );
    let node = fc.get("v1", "Node", "", "kind-worker2").unwrap();
    assert!(
        node["metadata"]["labels"]["role.scaffolding/lb"].is_null(),
        "{node}"
    );
    let l2 = fc
        .get(
            "metallb.io/v1beta1",
            "L2Advertisement",
            "metallb-system",
            "scaffold-l2",
        )
        .unwrap();
    assert_eq!(
        l2["spec"]["nodeSelectors"],
        serde_json::json!([{"matchLabels": {"role.scaffolding/lb": "true"}}])
    );

    // the stub's election without nodeSelectors: MetalLB's hash order
    let lb_ip = p.results_in(&p.path().join("art"))["records"]["lb_ip"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    fc.update(
        "metallb.io/v1beta1",
        "L2Advertisement",
        "metallb-system",
        "scaffold-l2",
        |a| a["spec"] = serde_json::json!({"ipAddressPools": ["scaffold-pool"]}),
    )
    .unwrap();
    label(
        "kind-worker",
        "node.kubernetes.io/exclude-from-external-load-balancers",
        Some(""),
    );
    let mut eligible = ["kind-control-plane", "kind-worker2", "kind-worker3"];
    eligible.sort_by_key(|n| sha2::Sha256::digest(format!("{n}#{lb_ip}").as_bytes()).to_vec());
    let mac = |n: &str| {
        let h = sha2::Sha256::digest(n.as_bytes());
        format!("52:54:00:{:02x}:{:02x}:{:02x}", h[0], h[1], h[2])
    };
    let neigh = std::process::Command::new(bin.join("ip"))
        .args(["neigh", "show", &lb_ip])
        .env("KUBECONFIG", &kubeconfig)
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&neigh.stdout);
    assert!(
        shown.contains(&mac(eligible[0])),
        "{shown} (winner {})",
        eligible[0]
    );

    // MetalLB may not announce from the lb node: the check fails and says why
    label(
        "kind-worker",
        "node.kubernetes.io/exclude-from-external-load-balancers",
        None,
    );
    label(
        "kind-worker3",
        "node.kubernetes.io/exclude-from-external-load-balancers",
        Some(""),
    );
    let out = run();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("MetalLB announces it from no node")
            && e.contains(
                "kind-worker3 labelled node.kubernetes.io/exclude-from-external-load-balancers"
            ),
        "{e}"
    );
}

/// 28.5: MetalLB's webhook refuses the pool for a while after its pods
/// are ready: the pool is applied once it answers; a webhook that never
/// answers is an error within the bound that says where to look.
#[test]
fn metallb_pool_waits_for_the_webhook() {
    let p = Project::new();
    let fc = cluster_of(2, &p.path().join("bin"));
    fc.write_kubeconfig_to(&p.path().join("kubeconfig"))
        .unwrap();
    let metallb = p.file("metallb-native.yaml", METALLB);
    let webhook = |secs: u64| {
        fc.faults().webhook_down_for(
            "IPAddressPool",
            "ipaddresspoolvalidationwebhook.metallb.io",
            "metallb-webhook-service.metallb-system.svc",
            std::time::Duration::from_secs(secs),
        )
    };
    let script = |timeout: u64| {
        format!(
            r#"import "metallb" as metallb;
            metallb::install(#{{addresses: ["172.18.255.200-172.18.255.250"], manifest: "{}", webhook_timeout: {timeout}}});
            print("pool applied");"#,
            metallb.display()
        )
    };
    p.file("ok.rhai", &script(60));
    webhook(4);
    let out = p
        .cmd()
        .args(["script", "ok.rhai"])
        .env("SCAFFOLD_RETRY_SECONDS", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{e}");
    assert!(o.contains("pool applied"), "{o}");
    assert!(
        e.contains("metallb: its webhook does not answer yet"),
        "{e}"
    );
    assert!(fc
        .get(
            "metallb.io/v1beta1",
            "IPAddressPool",
            "metallb-system",
            "scaffold-pool"
        )
        .is_some());
    p.file("never.rhai", &script(3));
    webhook(600);
    let out = p
        .cmd()
        .args(["script", "never.rhai"])
        .env("SCAFFOLD_RETRY_SECONDS", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("metallb: its webhook still refuses after 3 s")
            && e.contains("failed calling webhook \"ipaddresspoolvalidationwebhook.metallb.io\"")
            && e.contains("kubectl -n metallb-system logs deploy/controller"),
        "{e}"
    );
}

/// 28.1: each stub refuses a flag the real tool does not have (as cobra,
/// virsh and iproute2 do), so a scenario cannot pass a test with a flag
/// the real tool would reject; and minikube refuses `--cni=false` with a
/// runtime other than docker.
#[test]
fn xdp_stubs_refuse_what_the_real_tools_refuse() {
    let p = Project::new();
    let fc = cluster_of(1, &p.path().join("bin"));
    let bin = stubs(&p, fc.kubeconfig());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin.join(args[0]))
            .args(&args[1..])
            .env("PATH", path_with(&bin))
            .env("KUBECONFIG", fc.kubeconfig())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    for (args, says) in [
        (
            &["cilium", "status", "--wait", "--frobnicate"][..],
            "Error: unknown flag: --frobnicate",
        ),
        (
            &[
                "cilium",
                "install",
                "--version",
                "1.18.14",
                "--kube-proxy-replacement",
            ],
            "Error: unknown flag: --kube-proxy-replacement",
        ),
        (
            &["cilium", "upgrade", "--reset-values", "--force"],
            "Error: unknown flag: --force",
        ),
        (
            &["cilium", "connectivity", "test", "--all"],
            "Error: unknown flag: --all",
        ),
        (
            &["cilium", "hubble"],
            "Error: unknown command \"hubble\" for \"cilium\"",
        ),
        (
            &["cilium-dbg", "status", "--kpr"],
            "Error: unknown flag: --kpr",
        ),
        (
            &["minikube", "start", "--nodes=3", "--kvm-queues=4"],
            "Error: unknown flag: --kvm-queues",
        ),
        (
            &["minikube", "ssh", "-n", "m02", "--user", "--", "true"],
            "Error: unknown flag: --user",
        ),
        (
            &[
                "minikube",
                "start",
                "--cni=false",
                "--container-runtime=containerd",
            ],
            "The \"containerd\" container runtime requires CNI",
        ),
        (
            &[
                "virsh",
                "-c",
                "qemu:///system",
                "dumpxml",
                "--queues",
                "m01",
            ],
            "error: command 'dumpxml' doesn't support option --queues",
        ),
        (
            &["ip", "neigh", "show", "--json", "10.0.0.1"],
            "Option \"--json\" is unknown",
        ),
    ] {
        let (code, err) = run(args);
        assert!(code.is_some_and(|c| c != 0), "{args:?} was accepted");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // what the scenario passes is accepted
    for args in [
        &[
            "minikube",
            "start",
            "--driver=kvm2",
            "--nodes=3",
            "--network-plugin=cni",
            "--cni=false",
            "--container-runtime=docker",
            "--kubernetes-version=v1.33.4",
        ][..],
        &[
            "minikube", "ssh", "-n", "m02", "--", "sudo", "sysctl", "-w", "x=0",
        ],
        &["virsh", "-c", "qemu:///system", "dumpxml", "m01"],
        &["cilium", "status", "--verbose"],
    ] {
        let (code, err) = run(args);
        assert!(code == Some(0) || args[0] == "cilium", "{args:?}: {err}");
        assert!(!err.contains("unknown"), "{args:?}: {err}");
    }
}

/// 28.1: `cilium status` exits 0 while agents report errors, so a Cilium
/// already in the asked mode is kept only when `cilium status --wait`
/// passes: an unhealthy one stops the run instead of being measured.
#[test]
fn xdp_keeps_an_installed_cilium_only_when_it_is_healthy() {
    let p = Project::new();
    let fc = cluster_of(4, &p.path().join("bin"));
    let bin = stubs(&p, fc.kubeconfig());
    seed_xdp(&fc);
    let metallb = p.file("metallb-native.yaml", METALLB);
    let kubeconfig = kubeconfig_as(&p, &fc, "minikube");
    let run = || {
        run_xdp(
            &p,
            &bin,
            &kubeconfig,
            &metallb,
            &["mode=kpr", "skip_ct=true"],
        )
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(p.path().join("cilium-installed-errors"), "").unwrap();
    let out = run();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("already installed in mode kpr")
            && e.contains("cilium status --wait")
            && e.contains("timeout while waiting for status to become successful"),
        "{e}"
    );
}

/// 31.5: the monitoring tree on the fake with Debian's programs behind the
/// quay.io/prometheus images: the xdp scenario deploys
/// kustomize/monitoring-fake, its node roles reach the real pushgateway and
/// through it the real Prometheus, which also scrapes the real
/// node-exporter; a script's push and query then pass through the stack by
/// port-forward, as in a cluster.
#[test]
fn xdp_with_the_real_monitoring_stack_on_the_fake() {
    let test = "xdp_with_the_real_monitoring_stack_on_the_fake";
    for t in [
        "prometheus",
        "prometheus-pushgateway",
        "prometheus-node-exporter",
    ] {
        if crate::util::tool(t, test).is_none() {
            return;
        }
    }
    // the tree's servers use their usual ports on this machine
    for port in [9090, 9091, 9100] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "{test}: port {port} is taken on this machine; kustomize/monitoring-fake needs it"
        );
    }
    let p = Project::new();
    let fc = cluster_with(4, &p.path().join("bin"), Options::monitoring_programs());
    let bin = stubs(&p, fc.kubeconfig());
    seed_xdp(&fc);
    let metallb = p.file("metallb-native.yaml", METALLB);
    let kubeconfig = kubeconfig_as(&p, &fc, "minikube");
    let out = run_xdp(
        &p,
        &bin,
        &kubeconfig,
        &metallb,
        &["mode=xdp", "monitoring=monitoring-fake"],
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    assert!(!e.contains("not pushed"), "{e}");
    // the pods run the programs (not simulated): one node-exporter
    let running: Vec<String> = fc
        .list("v1", "Pod")
        .iter()
        .filter(|p| p["metadata"]["namespace"] == "monitoring")
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .collect();
    assert_eq!(
        running
            .iter()
            .filter(|n| n.starts_with("node-exporter"))
            .count(),
        1,
        "{running:?}"
    );
    assert!(
        !running
            .iter()
            .any(|n| n.starts_with("prometheus-operator-")),
        "{running:?}"
    );
    // a push and a query through the stack, from a script
    let script = p.file(
        "through.rhai",
        r#"
        import "netperf" as np;
        wait_until(60, 0.2, || { try { prom_query("up"); true } catch (e) { false } });
        np::push("pod2pod", #{throughput_bps: 9.4e9, retransmits: 3, p50_latency: 33.0, p90_latency: 41.0, p99_latency: 58.0},
            #{mode: "xdp", run: "fake"});
        // scraped within 5 s (the tree's interval)
        let seen = || {
            let r = prom_query("scaffold_throughput_bits_per_second{run=\"fake\"}");
            if r.len() == 0 { false } else { r[0].value }
        };
        print("throughput " + wait_until(60, 0.5, seen));
        let roles = wait_until(60, 0.5, || {
            let r = prom_query("scaffold_node_role");
            if r.len() == 0 { false } else { r.len() }
        });
        print("roles " + roles);
        let node = wait_until(60, 0.5, || {
            let r = prom_query("up{job=\"node-exporter\"} == 1");
            r.len() > 0
        });
        print("node-exporter up " + node);
        "#,
    );
    let out = p
        .cmd()
        .arg("script")
        .arg(&script)
        .env("KUBECONFIG", &kubeconfig)
        .timeout(std::time::Duration::from_secs(200))
        .output()
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{e}\n{o}");
    eprintln!("{o}");
    assert!(o.contains("throughput 9400000000"), "{o}");
    assert!(o.contains("node-exporter up true"), "{o}");
    // the xdp scenario pushed a role per labelled node
    let roles: usize = o
        .lines()
        .find_map(|l| l.strip_prefix("roles "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(roles >= 3, "{o}");
}

/// service-churn on the fake's simulated Service dataplane: backends are
/// agnhost netexec stand-ins (tests/tools/backend.py), kind-worker2
/// programs every change 300 ms late and the others at once; the
/// scenario must find that lag in traffic, per node and change.
#[test]
fn service_churn_finds_a_lagging_node() {
    let p = Project::new();
    let bin = stubs(&p, Path::new("/nonexistent"));
    let backend = repo().join("tests/tools/backend.py");
    let fc = FakeCluster::start(Options {
        nodes: 3,
        loopback_ips: true,
        image_bin: Some(bin.clone()),
        image_programs: vec![(
            "registry.k8s.io/e2e-test-images/agnhost".into(),
            backend.display().to_string(),
        )],
        service_dataplane: true,
        ..Default::default()
    });
    fc.set_programming_delay("kind-worker2", std::time::Duration::from_millis(300));
    // kube-proxy in nftables mode, as kubeadm configures it
    fc.seed_yaml(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-proxy, namespace: kube-system}
data:
  config.conf: |
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
    mode: "nftables"
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec:
      containers: [{name: kube-proxy, image: registry.k8s.io/kube-proxy:v1.32.0}]
"#,
    )
    .unwrap();
    let out = p
        .cmd()
        .args(["script"])
        .arg(repo().join("scenarios/service-churn/main.rhai"))
        .args(["--set", "interval=2", "--artifacts", "art"])
        .env("KUBECONFIG", fc.kubeconfig())
        .env("PATH", path_with(&bin))
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{e}\n{s}");
    let r = p.results_in(&p.path().join("art"));
    let dir = std::fs::read_dir(p.path().join("art"))
        .unwrap()
        .flatten()
        .find(|d| d.path().join("service-churn.json").exists())
        .unwrap()
        .path();
    let churn: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("service-churn.json")).unwrap())
            .unwrap();
    let kinds: Vec<&str> = churn["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["initial", "create", "add", "remove", "empty", "add", "delete"],
        "{churn}"
    );
    for (node, lag) in [("kind-worker", 0.0), ("kind-worker2", 300.0)] {
        let n = &churn["nodes"][node];
        let res = n["resolution_p50_ms"].as_f64().unwrap();
        for seen in n["seen"].as_array().unwrap() {
            let l = seen["latency_ms"]
                .as_f64()
                .unwrap_or_else(|| panic!("{node}: unseen {seen}"));
            // the lag, within the probe's resolution (a few attempts: a
            // node takes its 2-3 backends in turn, so an added one answers,
            // and a removed one is last reached, up to that many attempts
            // off) and the watch's own delay. An added backend's process starts only
            // then, and the fake's readiness is simulated (it passes
            // without probing): on a busy machine its first answer also
            // waits for a Python server to listen, so additions get up
            // to a second more
            let slack = if seen["kind"] == "add" { 1000.0 } else { 0.0 };
            assert!(
                l >= lag - 4.0 * res - 10.0 && l <= lag + 4.0 * res + 30.0 + slack,
                "{node}: {seen} (lag {lag} ms, resolution {res} ms)"
            );
        }
        assert_eq!(n["unseen"], 0, "{n}");
    }
    // the probes see (almost) no failure where a backend should answer:
    // none but an added backend whose process is still starting (the
    // fake's readiness does not probe), a few at most on a busy machine
    let (errors, probes) = (
        churn["errors"].as_u64().unwrap(),
        churn["probes"].as_u64().unwrap(),
    );
    assert!(
        errors * 100 <= probes,
        "{errors} errors in {probes} probes: {churn}"
    );
    assert_eq!(r["records"]["dataplane"]["value"], "kube-proxy-nftables");
    assert!(samples(&r, "service_programming_latency_ms").len() >= 18);
    assert!(s.contains("99th of per-node 99ths"), "{s}");
    // nothing of ours left: sessions closed, the Deployment and Service gone
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
    assert!(fc
        .get("apps/v1", "Deployment", "default", "service-churn")
        .is_none());
}
