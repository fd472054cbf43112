//! Whether runs may be compared: their fingerprints (results.json
//! `environment.fingerprint`, `fingerprint()`) must agree in everything
//! their parameters do not explain. The rule: within a group (a sweep's
//! grid point, or runs with the same parameters) nothing may differ;
//! between groups only the CNI's configuration (`cni.*`) may, since the
//! parameters that label the groups (`mode=xdp`) set it. Everything else
//! (kernels, CPUs, governors, MTUs, offloads, sysctls, versions, node
//! counts) must be the same in every run. `--allow-different FIELD`
//! accepts differences of FIELD and the fields under it (`node`,
//! `node.kind-worker.governor`, `client.host`).

use crate::results::Results;
use std::collections::BTreeMap;

/// One run as the check sees it: its name, its group, its results.
pub struct Compared<'a> {
    pub name: String,
    pub group: usize,
    pub results: &'a Results,
}

/// A field that differs: its name, and each value with the runs that
/// have it.
pub type Difference = (String, Vec<(String, Vec<String>)>);

/// Does `field` fall under one of the allowed names?
fn allowed(field: &str, allow: &[String]) -> bool {
    allow.iter().any(|a| {
        field == a
            || field
                .strip_prefix(a.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The fields that differ where they may not: per field, each value with
/// the runs that have it. Runs without a fingerprint are not checked.
pub fn differences(runs: &[Compared], allow: &[String]) -> Vec<Difference> {
    let with: Vec<&Compared> = runs
        .iter()
        .filter(|r| !r.results.environment.fingerprint.is_empty())
        .collect();
    let mut fields: Vec<&String> = with
        .iter()
        .flat_map(|r| r.results.environment.fingerprint.keys())
        .collect();
    fields.sort();
    fields.dedup();
    let mut out = vec![];
    for f in fields {
        if allowed(f, allow) {
            continue;
        }
        let value = |r: &Compared| {
            r.results
                .environment
                .fingerprint
                .get(f)
                .cloned()
                .unwrap_or_else(|| "(not read)".into())
        };
        let differs_within = with.iter().any(|a| {
            with.iter()
                .any(|b| a.group == b.group && value(a) != value(b))
        });
        let differs_at_all = with.iter().any(|a| value(a) != value(with[0]));
        let bad = differs_within || (differs_at_all && !f.starts_with("cni."));
        if !bad {
            continue;
        }
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &with {
            by.entry(value(r)).or_default().push(r.name.clone());
        }
        out.push((f.clone(), by.into_iter().collect()));
    }
    out
}

/// The refusal, as printed: what differs and how to accept it.
pub fn refusal(diffs: &[Difference]) -> Option<String> {
    if diffs.is_empty() {
        return None;
    }
    let mut s = String::from(
        "the runs' fingerprints differ in more than their parameters: no comparison verdict \
         (measure again on the same setup, or accept a difference with --allow-different FIELD)",
    );
    for (f, values) in diffs.iter().take(20) {
        let vs: Vec<String> = values
            .iter()
            .map(|(v, runs)| {
                let shown: Vec<&str> = runs.iter().take(4).map(String::as_str).collect();
                let more = if runs.len() > 4 {
                    format!(", +{}", runs.len() - 4)
                } else {
                    String::new()
                };
                format!("{v} ({}{more})", shown.join(", "))
            })
            .collect();
        s.push_str(&format!("\n  {f}: {}", vs.join("; ")));
    }
    if diffs.len() > 20 {
        s.push_str(&format!("\n  ... and {} more fields", diffs.len() - 20));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fields: &[(&str, &str)]) -> Results {
        let mut r = Results::default();
        for (k, v) in fields {
            r.environment
                .fingerprint
                .insert(k.to_string(), v.to_string());
        }
        r
    }

    #[test]
    fn cni_may_follow_the_groups_nothing_else_may_differ() {
        let a = run(&[
            ("cni.cilium.bpf-lb-acceleration", "disabled"),
            ("node.n1.kernel", "6.8"),
        ]);
        let b = run(&[
            ("cni.cilium.bpf-lb-acceleration", "native"),
            ("node.n1.kernel", "6.8"),
        ]);
        let c = run(&[
            ("cni.cilium.bpf-lb-acceleration", "native"),
            ("node.n1.kernel", "6.9"),
        ]);
        let cmp = |rs: Vec<(&str, usize, &Results)>, allow: &[String]| {
            let v: Vec<Compared> = rs
                .into_iter()
                .map(|(n, g, r)| Compared {
                    name: n.into(),
                    group: g,
                    results: r,
                })
                .collect();
            differences(&v, allow)
        };
        // the CNI differs between groups: fine
        assert!(cmp(vec![("r1", 0, &a), ("r2", 1, &b)], &[]).is_empty());
        // the CNI differs within a group: not fine
        let d = cmp(vec![("r1", 0, &a), ("r2", 0, &b)], &[]);
        assert_eq!(d[0].0, "cni.cilium.bpf-lb-acceleration");
        // a kernel differs between groups: not fine, unless allowed
        let d = cmp(vec![("r1", 0, &a), ("r3", 1, &c)], &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0, "node.n1.kernel");
        assert_eq!(
            d[0].1,
            vec![
                ("6.8".to_string(), vec!["r1".to_string()]),
                ("6.9".to_string(), vec!["r3".to_string()])
            ]
        );
        assert!(cmp(vec![("r1", 0, &a), ("r3", 1, &c)], &["node.n1".into()]).is_empty());
        assert!(
            !cmp(vec![("r1", 0, &a), ("r3", 1, &c)], &["node.n".into()]).is_empty(),
            "prefixes are whole names"
        );
        let text = refusal(&cmp(vec![("r1", 0, &a), ("r3", 1, &c)], &[])).unwrap();
        assert!(
            text.contains("node.n1.kernel: 6.8 (r1); 6.9 (r3)"),
            "{text}"
        );
        // runs without a fingerprint are not checked
        let none = Results::default();
        assert!(cmp(vec![("r1", 0, &a), ("r0", 1, &none)], &[]).is_empty());
    }
}
