//! Which proxy, if any, the kube client (and `http()`, downloads) goes
//! through, decided the way kubectl decides: the kubeconfig cluster's `proxy-url` first; else `HTTPS_PROXY` /
//! `HTTP_PROXY` (upper case first) for the server's scheme, unless `NO_PROXY`
//! lists the host or the host is loopback (Go never proxies loopback, so
//! `kind` clusters keep working with a corporate proxy set).

use hyper_util::client::proxy::matcher::{Intercept, Matcher};

/// The chosen proxy and where it came from.
pub struct Proxy {
    /// proxy-url as given, credentials included (never printed)
    pub url: http::Uri,
    /// `kubeconfig proxy-url` or the variable's name
    pub source: String,
}

impl Proxy {
    /// `http://host:port (from HTTPS_PROXY)`, without credentials.
    pub fn describe(&self) -> String {
        format!("{} (from {})", without_userinfo(&self.url), self.source)
    }
}

/// The URL without `user:password@`.
pub fn without_userinfo(u: &http::Uri) -> String {
    let scheme = u.scheme_str().unwrap_or("http");
    let host = u
        .authority()
        .map(|a| a.as_str().rsplit('@').next().unwrap_or("").to_string())
        .unwrap_or_default();
    format!("{scheme}://{host}")
}

const SCHEMES: &[&str] = &["http", "https", "socks5", "socks5h"];

/// Decide. `kubeconfig_proxy` is the cluster's `proxy-url`; `env` reads a
/// variable (a parameter so tests need not touch the process environment).
pub fn choose(
    kubeconfig_proxy: Option<&str>,
    server: &http::Uri,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, String> {
    if let Some(p) = kubeconfig_proxy.filter(|s| !s.trim().is_empty()) {
        return parse(p.trim(), "kubeconfig proxy-url").map(Some);
    }
    let Some(host) = server.host() else {
        return Ok(None);
    };
    if is_loopback(host) {
        return Ok(None);
    }
    let names: &[&str] = if server.scheme_str() == Some("http") {
        &["HTTP_PROXY", "http_proxy"]
    } else {
        &["HTTPS_PROXY", "https_proxy"]
    };
    let first = |names: &[&str]| {
        names.iter().find_map(|n| {
            env(n)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (n.to_string(), v.trim().to_string()))
        })
    };
    let Some((name, value)) = first(names) else {
        return Ok(None);
    };
    let value = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    let proxy = parse(&value, &name)?;
    let no = first(&["NO_PROXY", "no_proxy"])
        .map(|(_, v)| v)
        .unwrap_or_default();
    if no.split(',').any(|e| e.trim() == "*") {
        return Ok(None);
    }
    let no = without_ports(&no, server);
    // hyper-util's matcher implements NO_PROXY as curl and Go do (domains
    // with or without a leading dot, IPs, CIDRs); it is asked only about
    // NO_PROXY, so its proxy is a placeholder
    let matcher = Matcher::builder()
        .all("http://proxy.invalid:1")
        .no(no)
        .build();
    if matcher.intercept(server).is_none() {
        return Ok(None);
    }
    Ok(Some(proxy))
}

/// NO_PROXY entries as hosts: `host:port` (and `[v6]:port`) count only for
/// the server's port, as in Go; hyper-util's matcher compares hosts only.
fn without_ports(no: &str, server: &http::Uri) -> String {
    let port = server
        .port_u16()
        .unwrap_or(if server.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    no.split(',')
        .map(str::trim)
        .filter_map(|e| {
            let (host, p) = if let Some(rest) = e.strip_prefix('[') {
                let (h, after) = rest.split_once(']')?;
                (h, after.strip_prefix(':'))
            } else if e.parse::<std::net::IpAddr>().is_ok() || e.contains('/') {
                (e, None) // a bare IPv6 address or a CIDR
            } else {
                match e.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (e, None),
                }
            };
            match p.map(|p| p.parse::<u16>()) {
                None => Some(host.to_string()),
                Some(Ok(p)) if p == port => Some(host.to_string()),
                _ => None,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn parse(value: &str, source: &str) -> Result<Proxy, String> {
    let url: http::Uri = value.parse().map_err(|e| {
        format!(
            "proxy '{}' ({source}) is not a URL: {e}; write it like http://proxy.example:3128",
            redact(value)
        )
    })?;
    let scheme = url.scheme_str().unwrap_or("");
    if !SCHEMES.contains(&scheme) || url.host().is_none() {
        return Err(format!(
            "proxy {} ({source}) is not supported: use http://, https:// or socks5:// with a host",
            without_userinfo(&url)
        ));
    }
    Ok(Proxy {
        url,
        source: source.to_string(),
    })
}

/// `scheme://***@host` for a value that may carry credentials.
fn redact(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((before, host)) => {
            let scheme = before.split_once("://").map(|(s, _)| s).unwrap_or("http");
            format!("{scheme}://***@{host}")
        }
        None => value.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// The proxy for a plain HTTP(S) request of scaffold itself (`http()`,
/// downloads), decided by the same rules from the environment: so a
/// port-forward on 127.0.0.1 is never sent to a corporate proxy.
pub fn for_url(url: &str) -> Result<Option<ureq::Proxy>, String> {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return Ok(None); // the request itself reports the bad URL
    };
    let env = |n: &str| std::env::var(n).ok();
    let Some(p) = choose(None, &uri, &env)? else {
        return Ok(None);
    };
    let desc = p.describe();
    ureq::Proxy::new(&p.url.to_string())
        .map(Some)
        .map_err(|e| format!("proxy {desc}: {e}"))
}

/// The matcher's view of a chosen proxy: address without credentials, and
/// the credentials split out for the connector.
pub fn intercept(url: &http::Uri) -> Option<Intercept> {
    // `all` applies to both schemes; an https destination picks it up
    let dst: http::Uri = "https://kubernetes.invalid/".parse().ok()?;
    Matcher::builder()
        .all(url.to_string())
        .build()
        .intercept(&dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pick(kc: Option<&str>, server: &str, vars: &[(&str, &str)]) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |n: &str| vars.get(n).cloned();
        choose(kc, &server.parse().unwrap(), &env)
            .unwrap()
            .map(|p| p.describe())
    }

    const P: (&str, &str) = ("HTTPS_PROXY", "http://u:pw@proxy.corp:3128");

    #[test]
    fn kubeconfig_proxy_url_wins_even_for_loopback() {
        assert_eq!(
            pick(
                Some("socks5://127.0.0.1:1080"),
                "https://127.0.0.1:6443",
                &[P]
            )
            .as_deref(),
            Some("socks5://127.0.0.1:1080 (from kubeconfig proxy-url)")
        );
    }

    #[test]
    fn env_proxy_for_the_servers_scheme_without_credentials_in_messages() {
        let d = pick(None, "https://api.example.com:6443", &[P]).unwrap();
        assert_eq!(d, "http://proxy.corp:3128 (from HTTPS_PROXY)");
        assert_eq!(pick(None, "http://api.example.com", &[P]), None);
        assert_eq!(
            pick(
                None,
                "http://api.example.com",
                &[("http_proxy", "proxy.corp:8080")]
            )
            .as_deref(),
            Some("http://proxy.corp:8080 (from http_proxy)")
        );
        // upper case first, as Go reads them
        assert_eq!(
            pick(
                None,
                "https://api.example.com",
                &[
                    ("https_proxy", "http://lower:1"),
                    ("HTTPS_PROXY", "http://upper:2")
                ]
            )
            .as_deref(),
            Some("http://upper:2 (from HTTPS_PROXY)")
        );
    }

    #[test]
    fn loopback_is_never_proxied_from_env() {
        for s in [
            "https://127.0.0.1:6443",
            "https://localhost:6443",
            "https://[::1]:6443",
            "https://127.0.0.2:6443",
        ] {
            assert_eq!(pick(None, s, &[P]), None, "{s}");
        }
    }

    #[test]
    fn no_proxy_excludes_domains_ips_and_cidrs() {
        let with = |no: &str, server: &str| pick(None, server, &[P, ("NO_PROXY", no)]).is_some();
        assert!(!with("example.com", "https://api.example.com"));
        assert!(!with(".example.com", "https://api.example.com"));
        assert!(with("ample.com", "https://api.example.com"));
        assert!(!with("10.0.0.0/8", "https://10.1.2.3:6443"));
        assert!(with("10.0.0.0/8", "https://192.168.1.2:6443"));
        assert!(!with("a.b, 192.168.1.2", "https://192.168.1.2:6443"));
        assert!(!with("*", "https://192.168.1.2:6443"));
        // host:port entries count for that port only, as in Go
        assert!(!with(
            "api.example.com:6443",
            "https://api.example.com:6443"
        ));
        assert!(with("api.example.com:8443", "https://api.example.com:6443"));
        assert!(!with("api.example.com:443", "https://api.example.com"));
        assert!(!with("[fd00::1]:6443", "https://[fd00::1]:6443"));
        assert!(!with("fd00::/8", "https://[fd00::1]:6443"));
        assert!(!with("10.1.2.3:6443", "https://10.1.2.3:6443"));
        assert!(pick(
            None,
            "https://h.example.com",
            &[P, ("no_proxy", "example.com")]
        )
        .is_none());
    }

    #[test]
    fn bad_proxies_are_errors_naming_the_source() {
        let env = |_: &str| None;
        let server: http::Uri = "https://api.example.com".parse().unwrap();
        let e = choose(Some("ftp://p:21"), &server, &env).err().unwrap();
        assert!(
            e.contains("kubeconfig proxy-url") && e.contains("socks5://"),
            "{e}"
        );
        let env = |n: &str| (n == "HTTPS_PROXY").then(|| "http://user:secret@".to_string());
        let e = choose(None, &server, &env).err().unwrap();
        assert!(e.contains("HTTPS_PROXY") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn intercept_splits_credentials() {
        let i = intercept(&"http://u:p%40ss@127.0.0.1:3128".parse().unwrap()).unwrap();
        assert_eq!(i.uri().to_string(), "http://127.0.0.1:3128/");
        assert!(i.basic_auth().is_some());
        let i = intercept(&"socks5://u:pw@127.0.0.1:1080".parse().unwrap()).unwrap();
        assert_eq!(i.raw_auth(), Some(("u", "pw")));
    }
}
