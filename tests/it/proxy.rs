//! Proxies, as kubectl uses them: the kubeconfig's `proxy-url` (http with
//! credentials, socks5), `HTTPS_PROXY` for servers that are not loopback
//! unless `NO_PROXY` says so. Exec and logs (ron) go through the same
//! tunnel. The API server is the fake one; the proxy a small test one that
//! sends every tunnel to 127.0.0.1.

use crate::util::{leftovers, Project, TestHttp};
use fakecluster::proxy::Proxy as TestProxy;
use fakecluster::{FakeCluster, Options};
use predicates::prelude::*;

/// `./kubeconfig` for the fake server reached as `host`, through
/// `proxy_url` when given ([`FakeCluster::write_kubeconfig_via`]).
fn kubeconfig(p: &Project, fc: &FakeCluster, host: &str, proxy_url: Option<&str>) {
    fc.write_kubeconfig_via(&p.path().join("kubeconfig"), host, proxy_url)
        .unwrap();
}

fn fake() -> FakeCluster {
    FakeCluster::start(Options {
        nodes: 1,
        ..Default::default()
    })
}

const SCRIPT: &str = r#"
print(`nodes: ${nodes().len()}`);
let r = ron(#{node: "kind-control-plane", cmd: "echo through-the-tunnel"});
print(`code: ${r.code}`);
"#;

#[test]
fn kubeconfig_http_proxy_with_credentials_carries_api_exec_and_logs() {
    let p = Project::new();
    let fc = fake();
    let proxy = TestProxy::http();
    let url = format!("http://scaffold:s3cret%40x@127.0.0.1:{}", proxy.port);
    kubeconfig(&p, &fc, "api.scaffold.test", Some(&url));
    p.file("s.rhai", SCRIPT);
    let out = p.cmd().args(["-v", "script", "s.rhai"]).assert().success();
    let out = out.get_output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("nodes: 1"), "{stdout}");
    assert!(stdout.contains("through-the-tunnel"), "{stdout}");
    assert!(stdout.contains("code: 0"), "{stdout}");
    // -v names the proxy, never its password
    assert!(
        stderr.contains(&format!(
            "through proxy http://127.0.0.1:{} (from kubeconfig proxy-url)",
            proxy.port
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret") && !stdout.contains("s3cret"));
    let seen = proxy.seen();
    let want = format!("CONNECT api.scaffold.test:{} Basic ", fc.addr().port());
    assert!(
        !seen.is_empty() && seen.iter().all(|l| l.starts_with(&want)),
        "{seen:?}"
    );
    // base64("scaffold:s3cret@x")
    assert!(seen[0].ends_with("c2NhZmZvbGQ6czNjcmV0QHg="), "{seen:?}");
    assert!(leftovers(&fc).is_empty(), "{:?}", leftovers(&fc));
}

#[test]
fn kubeconfig_socks5_proxy_resolves_names_at_the_proxy() {
    let p = Project::new();
    let fc = fake();
    let proxy = TestProxy::socks5();
    let url = format!("socks5://u:pw@127.0.0.1:{}", proxy.port);
    kubeconfig(&p, &fc, "api.scaffold.test", Some(&url));
    p.file("s.rhai", SCRIPT);
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("through-the-tunnel"));
    let seen = proxy.seen();
    let want = format!("SOCKS5 api.scaffold.test:{} u:pw", fc.addr().port());
    assert!(
        !seen.is_empty() && seen.iter().all(|l| *l == want),
        "{seen:?}"
    );
}

#[test]
fn https_proxy_from_env_for_remote_servers_never_for_loopback() {
    let p = Project::new();
    let fc = fake();
    let proxy = TestProxy::http();
    let env_proxy = format!("127.0.0.1:{}", proxy.port);
    p.file("s.rhai", "print(`nodes: ${nodes().len()}`);");
    // a name that is not loopback goes through HTTPS_PROXY (no scheme: http)
    kubeconfig(&p, &fc, "api.scaffold.test", None);
    p.cmd()
        .env("HTTPS_PROXY", &env_proxy)
        .env("NO_PROXY", "localhost,.example.com")
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nodes: 1"));
    let n = proxy.seen().len();
    assert!(n >= 1, "{:?}", proxy.seen());
    // 127.0.0.1 (a kind cluster) is reached directly, as kubectl does
    kubeconfig(&p, &fc, "127.0.0.1", None);
    p.cmd()
        .env("HTTPS_PROXY", &env_proxy)
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nodes: 1"));
    assert_eq!(proxy.seen().len(), n, "{:?}", proxy.seen());
}

#[test]
fn a_proxy_that_does_not_answer_is_named_in_the_error() {
    let p = Project::new();
    let fc = fake();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    kubeconfig(
        &p,
        &fc,
        "api.scaffold.test",
        Some(&format!("http://user:hidden@127.0.0.1:{port}")),
    );
    p.file("s.rhai", "nodes();");
    p.cmd()
        .env("SCAFFOLD_RETRY_SECONDS", "1")
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "through proxy http://127.0.0.1:{port} (from kubeconfig proxy-url)"
        )))
        .stderr(predicate::str::contains("hidden").not());
    // and a scheme kubectl does not know is refused before any request
    kubeconfig(&p, &fc, "api.scaffold.test", Some("ftp://127.0.0.1:21"));
    p.cmd()
        .args(["script", "s.rhai"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "use http://, https:// or socks5://",
        ));
}

#[test]
fn http_uses_the_environments_proxy_except_for_loopback() {
    let p = Project::new();
    let srv = TestHttp::start(|_, path, _| (200, format!("got {path}")));
    let proxy = TestProxy::http();
    p.file(
        "s.rhai",
        &format!(
            r#"print(http("GET", "http://127.0.0.1:{0}/direct").body);
               print(http("GET", "http://svc.scaffold.test:{0}/proxied").body);"#,
            srv.port
        ),
    );
    p.cmd()
        .env("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .args(["script", "s.rhai"])
        .assert()
        .success()
        .stdout(predicate::str::contains("got /direct\ngot /proxied"));
    assert_eq!(
        proxy.seen(),
        vec![format!("CONNECT svc.scaffold.test:{} -", srv.port)]
    );
}
