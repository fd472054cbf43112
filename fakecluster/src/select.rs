//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!key`) and
//! field selectors (`metadata.name`, `spec.nodeName`, `status.phase`, ...).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, Default)]
pub struct Selector(Vec<Req>);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Not,
    Eq,
    EqEq,
    NotEq,
    In,
    NotIn,
    Open,
    Close,
    Comma,
    End,
}

impl Tok {
    fn literal(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Not => "!".into(),
            Tok::Eq => "=".into(),
            Tok::EqEq => "==".into(),
            Tok::NotEq => "!=".into(),
            Tok::In => "in".into(),
            Tok::NotIn => "notin".into(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
            Tok::End => "".into(),
        }
    }
}

/// The tokens of a label selector, as apimachinery's lexer reads them.
fn lex(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            w if w.is_whitespace() => i += 1,
            '(' => (out.push(Tok::Open), i += 1).1,
            ')' => (out.push(Tok::Close), i += 1).1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            '=' if c.get(i + 1) == Some(&'=') => (out.push(Tok::EqEq), i += 2).1,
            '=' => (out.push(Tok::Eq), i += 1).1,
            '!' if c.get(i + 1) == Some(&'=') => (out.push(Tok::NotEq), i += 2).1,
            '!' => (out.push(Tok::Not), i += 1).1,
            _ => {
                let start = i;
                while i < c.len() && !c[i].is_whitespace() && !"=!(),".contains(c[i]) {
                    i += 1;
                }
                let w: String = c[start..i].iter().collect();
                out.push(match w.as_str() {
                    "in" => Tok::In,
                    "notin" => Tok::NotIn,
                    _ => Tok::Ident(w),
                });
            }
        }
    }
    out.push(Tok::End);
    out
}

struct Parser {
    t: Vec<Tok>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.t[self.i.min(self.t.len() - 1)]
    }
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.i += 1;
        t
    }
    /// An identifier; `in`/`notin` are values too where a value is expected.
    fn value(t: &Tok) -> Option<String> {
        match t {
            Tok::Ident(s) => Some(s.clone()),
            Tok::In | Tok::NotIn => Some(t.literal()),
            _ => None,
        }
    }

    fn requirement(&mut self) -> Result<Req, String> {
        let mut not = false;
        let mut t = self.next();
        if t == Tok::Not {
            not = true;
            t = self.next();
        }
        let key = Self::value(&t)
            .ok_or_else(|| format!("found '{}', expected: identifier", t.literal()))?;
        if matches!(self.peek(), Tok::End | Tok::Comma) {
            return Ok(if not {
                Req::NotExists(key)
            } else {
                Req::Exists(key)
            });
        }
        if not {
            let l = self.peek().literal();
            return Err(format!("found '{l}', expected: ',' or 'end of string'"));
        }
        match self.next() {
            Tok::Eq | Tok::EqEq => Ok(Req::Eq(key, self.exact()?)),
            Tok::NotEq => Ok(Req::Ne(key, self.exact()?)),
            Tok::In => Ok(Req::In(key, self.set()?)),
            Tok::NotIn => Ok(Req::NotIn(key, self.set()?)),
            t => Err(format!(
                "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                t.literal()
            )),
        }
    }

    fn exact(&mut self) -> Result<String, String> {
        if matches!(self.peek(), Tok::End | Tok::Comma) {
            return Ok(String::new());
        }
        let t = self.next();
        Self::value(&t).ok_or_else(|| format!("found '{}', expected: identifier", t.literal()))
    }

    fn set(&mut self) -> Result<Vec<String>, String> {
        let t = self.next();
        if t != Tok::Open {
            return Err(format!("found '{}' expected: '('", t.literal()));
        }
        match self.peek().clone() {
            Tok::Close => {
                self.i += 1;
                return Ok(vec![String::new()]);
            }
            t if Self::value(&t).is_none() && t != Tok::Comma => {
                return Err(format!(
                    "found '{}', expected: ',', ')' or identifier",
                    t.literal()
                ))
            }
            _ => {}
        }
        let mut vals = vec![];
        loop {
            match self.next() {
                Tok::Comma => vals.push(String::new()),
                t => match Self::value(&t) {
                    Some(v) => {
                        vals.push(v);
                        match self.next() {
                            Tok::Comma => continue,
                            Tok::Close => return Ok(vals),
                            t => {
                                return Err(format!(
                                    "found '{}', expected: ',' or ')'",
                                    t.literal()
                                ))
                            }
                        }
                    }
                    None if t == Tok::Close => return Ok(vals),
                    None => {
                        return Err(format!(
                            "found '{}', expected: ',', ')' or identifier",
                            t.literal()
                        ))
                    }
                },
            }
        }
    }
}

impl Selector {
    /// A label selector, with apimachinery's wording for what it cannot read.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut p = Parser { t: lex(s), i: 0 };
        let mut reqs = vec![];
        loop {
            match p.peek().clone() {
                Tok::End => return Ok(Selector(reqs)),
                Tok::Ident(_) | Tok::Not | Tok::In | Tok::NotIn => {
                    reqs.push(
                        p.requirement()
                            .map_err(|e| format!("unable to parse requirement: {e}"))?,
                    );
                    match p.next() {
                        Tok::End => return Ok(Selector(reqs)),
                        Tok::Comma => {
                            let t = p.peek().clone();
                            if !matches!(t, Tok::Ident(_) | Tok::Not) {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.literal()
                                ));
                            }
                        }
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.literal()
                            ))
                        }
                    }
                }
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.literal()
                    ))
                }
            }
        }
    }

    /// A field selector (`a=b,c!=d`); each field must be one `kind` allows.
    pub fn parse_fields(s: &str, kind: &crate::kinds::Kind) -> Result<Self, String> {
        let mut reqs = vec![];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let r = if let Some((k, v)) = part.split_once("!=") {
                Req::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Req::Eq(k.trim().into(), v.trim().into())
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let field = match &r {
                Req::Eq(k, _) | Req::Ne(k, _) => k.clone(),
                _ => unreachable!(),
            };
            if !field_supported(kind, &field) {
                return Err(format!("field label not supported: {field}"));
            }
            reqs.push(r);
        }
        Ok(Selector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Match against a map of labels.
    pub fn matches_labels(&self, labels: &Value) -> bool {
        self.matches_with(|k| labels.get(k).and_then(|v| v.as_str()).map(str::to_string))
    }

    /// Match field selectors against an object (dotted paths; a pod's
    /// `status.podIPs` and an event's `source` as the API server maps them).
    pub fn matches_fields(&self, obj: &Value) -> bool {
        self.matches_with(|path| {
            let path = match path {
                "source" => "source.component",
                "status.podIPs" => "status.podIP",
                p => p,
            };
            let mut cur = obj;
            for part in path.split('.') {
                cur = cur.get(part)?;
            }
            match cur {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        })
    }

    fn matches_with(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k).as_deref() == Some(v.as_str()),
            // a missing field equals "" for field selectors; for labels `!=` matches missing
            Req::Ne(k, v) => get(k).as_deref() != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.contains(&x)),
            Req::NotIn(k, vs) => !get(k).is_some_and(|x| vs.contains(&x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

/// The fields the API server lets a kind be selected by.
fn field_supported(kind: &crate::kinds::Kind, field: &str) -> bool {
    if ["metadata.name", "metadata.namespace"].contains(&field) {
        return true;
    }
    let extra: &[&str] = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "Event") | ("events.k8s.io", "Event") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "Node") => &["spec.unschedulable"],
        ("", "Namespace") => &["status.phase"],
        ("", "Secret") => &["type"],
        ("", "Service") => &["spec.clusterIP", "spec.type"],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
        ("batch", "Job") => &["status.successful"],
        ("certificates.k8s.io", "CertificateSigningRequest") => &["spec.signerName"],
        _ => &[],
    };
    extra.contains(&field)
}

/// Label selector of a workload (`matchLabels` + `matchExpressions`).
pub fn label_selector_matches(sel: &Value, labels: &Value) -> bool {
    if let Some(m) = sel["matchLabels"].as_object() {
        for (k, v) in m {
            if labels.get(k) != Some(v) {
                return false;
            }
        }
    }
    if let Some(exprs) = sel["matchExpressions"].as_array() {
        for e in exprs {
            let key = e["key"].as_str().unwrap_or_default();
            let vals: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let have = labels.get(key).and_then(|v| v.as_str());
            let ok = match e["operator"].as_str().unwrap_or_default() {
                "In" => have.is_some_and(|h| vals.contains(&h)),
                "NotIn" => !have.is_some_and(|h| vals.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let l = json!({"app": "web", "tier": "front"});
        let m = |s: &str| Selector::parse(s).unwrap().matches_labels(&l);
        assert!(m("app=web"));
        assert!(m("app==web,tier"));
        assert!(!m("app!=web"));
        assert!(m("app in (web, db)"));
        assert!(!m("app notin (web)"));
        assert!(m("!missing"));
        assert!(!m("missing"));
        assert!(m("app in (web),tier notin (back)"));
    }

    #[test]
    fn parse_errors_are_worded_like_apimachinery() {
        assert_eq!(
            Selector::parse("a in (").unwrap_err(),
            "unable to parse requirement: found '', expected: ',', ')' or identifier"
        );
        assert!(Selector::parse("a in (x,y),!b,c=,d!=e").is_ok());
    }

    #[test]
    fn field_selectors() {
        let o = json!({"metadata": {"name": "a"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let pod = crate::kinds::builtin()
            .into_iter()
            .find(|k| k.kind == "Pod")
            .unwrap();
        assert_eq!(
            Selector::parse_fields("spec.nosuch=x", &pod).unwrap_err(),
            "field label not supported: spec.nosuch"
        );
        let m = |s: &str| Selector::parse_fields(s, &pod).unwrap().matches_fields(&o);
        assert!(m("metadata.name=a,spec.nodeName=n1"));
        assert!(m("status.phase!=Pending"));
        assert!(!m("spec.nodeName=n2"));
    }
}
