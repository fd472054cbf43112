//! Option maps (`#{ key: value }`): unknown keys are errors that list the
//! valid ones; typed getters with clear messages.

use super::call::{error, secs, RResult};
use rhai::{Dynamic, Map};

pub struct Opts<'a> {
    func: &'a str,
    map: Map,
}

impl<'a> Opts<'a> {
    /// Check the keys of `map` against `valid`.
    pub fn new(func: &'a str, map: Map, valid: &[&str]) -> RResult<Self> {
        let mut unknown: Vec<&str> = map
            .keys()
            .map(|k| k.as_str())
            .filter(|k| !valid.contains(k))
            .collect();
        if let Some(k) = unknown.pop() {
            let near = crate::util::closest(k, valid.iter().copied());
            let hint = near
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            return Err(error(format!(
                "{func}: unknown option '{k}'{hint}; valid: {}",
                valid.join(", ")
            )));
        }
        Ok(Opts { func, map })
    }

    pub fn raw(&self, key: &str) -> Option<&Dynamic> {
        self.map.get(key).filter(|v| !v.is_unit())
    }

    pub fn bool(&self, key: &str, default: bool) -> RResult<bool> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => v.as_bool().map_err(|t| self.bad(key, "true or false", t)),
        }
    }

    pub fn string(&self, key: &str) -> RResult<Option<String>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(Some(v.to_string())),
            Some(v) => Err(self.bad(key, "a string", v.type_name())),
        }
    }

    pub fn int(&self, key: &str) -> RResult<Option<i64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => v
                .as_int()
                .map(Some)
                .map_err(|t| self.bad(key, "an integer", t)),
        }
    }

    pub fn float(&self, key: &str) -> RResult<Option<f64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => v
                .as_float()
                .or_else(|_| v.as_int().map(|i| i as f64))
                .map(Some)
                .map_err(|t| self.bad(key, "a number", t)),
        }
    }

    pub fn duration(&self, key: &str) -> RResult<Option<std::time::Duration>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => secs(&format!("{}: option '{key}'", self.func), v).map(Some),
        }
    }

    pub fn map(&self, key: &str) -> RResult<Option<Map>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) if v.is_map() => Ok(Some(v.clone().cast::<Map>())),
            Some(v) => Err(self.bad(key, "a map #{...}", v.type_name())),
        }
    }

    pub fn strings(&self, key: &str) -> RResult<Option<Vec<String>>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(Some(vec![v.to_string()])),
            Some(v) if v.is_array() => v
                .clone()
                .into_array()
                .unwrap_or_default()
                .into_iter()
                .map(|x| {
                    if x.is_string() {
                        Ok(x.to_string())
                    } else {
                        Err(self.bad(key, "an array of strings", x.type_name()))
                    }
                })
                .collect::<RResult<Vec<_>>>()
                .map(Some),
            Some(v) => Err(self.bad(key, "a string or an array of strings", v.type_name())),
        }
    }

    /// A label or field selector: a string (`"app=web,tier!=db"`) or a map
    /// of equality terms (`#{app: "web"}`); empty when absent.
    pub fn selector(&self, key: &str) -> RResult<String> {
        match self.raw(key) {
            None => Ok(String::new()),
            Some(v) if v.is_string() => Ok(v.to_string()),
            Some(v) if v.is_map() => {
                let m = v.clone().cast::<Map>();
                let mut terms: Vec<String> = vec![];
                for (k, v) in m {
                    if v.is_map() || v.is_array() || v.is_unit() {
                        return Err(self.bad(
                            key,
                            "a selector string or a map of strings",
                            v.type_name(),
                        ));
                    }
                    terms.push(format!("{k}={v}"));
                }
                Ok(terms.join(","))
            }
            Some(v) => Err(self.bad(
                key,
                "a selector string or a map #{key: value}",
                v.type_name(),
            )),
        }
    }

    fn bad(&self, key: &str, want: &str, got: &str) -> Box<rhai::EvalAltResult> {
        error(format!(
            "{}: option '{key}' must be {want}, got {got}",
            self.func
        ))
    }
}
