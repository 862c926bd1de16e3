//! Protocols as data: `ipbn reproduce ID --config FILE --set key=value` change a figure's
//! settings without editing code.
//!
//! A figure's settings start as its full protocol (or its quick one with `--quick`), as JSON.
//! The `--config` file is merged into them (an object merges key by key into an object whose
//! keys it all names; anything else replaces the value), then each `--set` replaces one value,
//! in the order given; the result is decoded into the figure's config type (which rejects
//! unknown keys) with the key of any bad value named, and written to `ID.json` as `config`.
//!
//! A `--set` value is read as JSON (`10`, `0.1`, `true`, `["plain", "bn"]`, `{"gaussian":
//! {...}}`), and as a string if it is not JSON (`--set base.condition=ip:triesch`). Dotted
//! keys reach nested settings (`base.lr`). With several figures selected, `--set ID.key=value`
//! changes figure `ID` only, and a plain key changes every selected figure that has it (an
//! error only if none has it).

use crate::error::ReportError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One `--set KEY=VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The figure it targets (`--set ID.key=value`), if any.
    pub figure: Option<String>,
    /// The (dotted) key within the figure's settings.
    pub key: String,
    /// The value as typed.
    pub raw: String,
    /// The value: `raw` read as JSON, or the string `raw` if it is not JSON.
    pub value: Value,
}

impl Setting {
    /// Parses `KEY=VALUE`; a key starting with `ID.` for one of `figure_ids` targets that
    /// figure.
    ///
    /// # Errors
    /// A message if there is no `=` or the key is empty.
    pub fn parse(text: &str, figure_ids: &[&str]) -> Result<Setting, String> {
        let (key, raw) = text.split_once('=').ok_or_else(|| {
            format!("--set {text}: expected KEY=VALUE, e.g. --set seeds=10 or --set base.lr=0.1")
        })?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!(
                "--set {text}: the key is empty or has an empty part; write e.g. base.lr=0.1"
            ));
        }
        let (figure, key) = match key.split_once('.') {
            Some((f, rest)) if figure_ids.contains(&f) => (Some(f.to_string()), rest.to_string()),
            _ => (None, key.to_string()),
        };
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        Ok(Setting {
            figure,
            key,
            raw: raw.to_string(),
            value,
        })
    }

    /// `--set KEY=VALUE` as typed (with the figure prefix if there was one).
    pub fn display(&self) -> String {
        match &self.figure {
            Some(f) => format!("--set {f}.{}={}", self.key, self.raw),
            None => format!("--set {}={}", self.key, self.raw),
        }
    }
}

/// The changes to one figure's settings: the `--config` patch, then the `--set`s in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// The figure's part of the `--config` file, if any.
    pub patch: Option<Value>,
    /// The `--set`s that apply to the figure, in the order given.
    pub sets: Vec<Setting>,
}

impl Overrides {
    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.patch.is_none() && self.sets.is_empty()
    }
}

/// The value at dotted `key` in `config`, if there is one.
fn lookup<'a>(config: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.')
        .try_fold(config, |v, part| v.as_object().and_then(|o| o.get(part)))
}

/// Whether `config` has the dotted `key`.
pub fn has_key(config: &Value, key: &str) -> bool {
    lookup(config, key).is_some()
}

/// The keys accepted where `key` would be: `accepted keys: a, b` at the top level,
/// `accepted keys of base: ...` inside `base`, or what is wrong with the path.
pub fn accepted(config: &Value, key: &str) -> String {
    let parts: Vec<&str> = key.split('.').collect();
    let mut v = config;
    for (i, part) in parts.iter().enumerate() {
        let Some(o) = v.as_object() else {
            return format!(
                "`{}` is a single setting, not a group of settings",
                parts[..i].join(".")
            );
        };
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let keys = keys.join(", ");
        let at = if i == 0 {
            String::new()
        } else {
            format!(" of {}", parts[..i].join("."))
        };
        match o.get(*part) {
            Some(next) if i + 1 < parts.len() => v = next,
            _ => return format!("accepted keys{at}: {keys}"),
        }
    }
    String::new()
}

/// Merges `patch` into `base`: an object merges key by key into an object that has all its
/// keys; any other value replaces.
fn merge(base: &mut Value, patch: &Value) {
    match (base.as_object_mut(), patch.as_object()) {
        (Some(b), Some(p)) if p.keys().all(|k| b.contains_key(k)) => {
            for (k, pv) in p {
                if let Some(bv) = b.get_mut(k) {
                    merge(bv, pv);
                }
            }
        }
        _ => *base = patch.clone(),
    }
}

/// Replaces the value at dotted `key` of `config`.
fn set(config: &mut Value, key: &str, value: Value) -> bool {
    let mut v = config;
    for part in key.split('.') {
        match v.as_object_mut().and_then(|o| o.get_mut(part)) {
            Some(next) => v = next,
            None => return false,
        }
    }
    *v = value;
    true
}

/// A usage error of figure `id`, one line.
fn bad(id: &str, what: String) -> ReportError {
    ReportError::Config(format!("{id}: {what}"))
}

/// Applies `o` to `base` (figure `id`'s settings as JSON) and decodes the result.
///
/// # Errors
/// A usage error naming the figure, the key (with the `--set` or `--config` it came from)
/// and the keys accepted there, if a key is unknown or a value does not decode.
pub fn apply<C: DeserializeOwned>(id: &str, base: &Value, o: &Overrides) -> Result<C, ReportError> {
    let mut v = base.clone();
    if let Some(patch) = &o.patch {
        let Some(p) = patch.as_object() else {
            return Err(bad(
                id,
                format!(
                    "--config: expected a JSON object of settings; {}",
                    accepted(base, "_")
                ),
            ));
        };
        if let Some(k) = p.keys().find(|k| !has_key(base, k)) {
            return Err(bad(
                id,
                format!("--config: unknown key `{k}`; {}", accepted(base, k)),
            ));
        }
        merge(&mut v, patch);
    }
    for s in &o.sets {
        if !set(&mut v, &s.key, s.value.clone()) {
            return Err(bad(
                id,
                format!(
                    "{}: unknown key `{}`; {}",
                    s.display(),
                    s.key,
                    accepted(base, &s.key)
                ),
            ));
        }
    }
    serde_path_to_error::deserialize::<_, C>(v).map_err(|e| {
        let path = e.path().to_string();
        let key = path.trim_start_matches('.').to_string();
        // The last `--set` at or above the bad value, else the `--config` file.
        let from = o
            .sets
            .iter()
            .rev()
            .find(|s| key == s.key || key.starts_with(&format!("{}.", s.key)))
            .map(Setting::display)
            .unwrap_or_else(|| "--config".to_string());
        bad(
            id,
            format!(
                "{from}: bad value at `{key}`: {}; {}",
                e.into_inner(),
                accepted(base, &key)
            ),
        )
    })
}

/// Builds one figure's [`Overrides`] from a `--config` file's JSON: the file holds either
/// that figure's settings, or an object whose keys are all figure ids (`{"bn-mnist": {...},
/// "batch-size": {...}}`) giving each figure its own.
pub fn split_config_file(file: &Value, figure_ids: &[&str]) -> Option<Map<String, Value>> {
    let o = file.as_object()?;
    (!o.is_empty() && o.keys().all(|k| figure_ids.contains(&k.as_str()))).then(|| o.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        lr: f64,
        steps: usize,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        seeds: usize,
        name: String,
        base: Inner,
    }

    fn base() -> Value {
        json!({"seeds": 3, "name": "a", "base": {"lr": 0.5, "steps": 10}})
    }

    fn sets(items: &[&str]) -> Overrides {
        Overrides {
            patch: None,
            sets: items
                .iter()
                .map(|s| Setting::parse(s, &["fig"]).unwrap())
                .collect(),
        }
    }

    #[test]
    fn settings_parse_as_json_else_as_strings() {
        let s = Setting::parse("fig.base.lr=0.1", &["fig"]).unwrap();
        assert_eq!(
            (s.figure.as_deref(), s.key.as_str(), &s.value),
            (Some("fig"), "base.lr", &json!(0.1))
        );
        let s = Setting::parse("base.condition=ip:triesch", &["fig"]).unwrap();
        assert_eq!((s.figure, s.value), (None, json!("ip:triesch")));
        assert_eq!(
            Setting::parse("conditions=[\"plain\"]", &[]).unwrap().value,
            json!(["plain"])
        );
        assert!(Setting::parse("seeds", &[]).is_err());
        assert!(Setting::parse("base..lr=1", &[]).is_err());
        assert!(Setting::parse("=1", &[]).is_err());
    }

    #[test]
    fn sets_and_patches_change_the_settings() {
        let c: Cfg = apply(
            "fig",
            &base(),
            &sets(&["seeds=10", "base.lr=0.1", "name=b"]),
        )
        .unwrap();
        assert_eq!(
            c,
            Cfg {
                seeds: 10,
                name: "b".into(),
                base: Inner { lr: 0.1, steps: 10 }
            }
        );
        let o = Overrides {
            patch: Some(json!({"base": {"steps": 7}})),
            sets: sets(&["base.lr=2"]).sets,
        };
        let c: Cfg = apply("fig", &base(), &o).unwrap();
        assert_eq!(c.base, Inner { lr: 2.0, steps: 7 });
        assert_eq!(c.seeds, 3);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_figure_key_and_accepted_keys() {
        let msg = |o: &Overrides| match apply::<Cfg>("fig", &base(), o) {
            Err(ReportError::Config(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        };
        assert_eq!(
            msg(&sets(&["no_such_key=1"])),
            "fig: --set no_such_key=1: unknown key `no_such_key`; accepted keys: base, name, seeds"
        );
        assert_eq!(
            msg(&sets(&["base.lrr=1"])),
            "fig: --set base.lrr=1: unknown key `base.lrr`; accepted keys of base: lr, steps"
        );
        let m = msg(&sets(&["seeds=many"]));
        assert!(
            m.starts_with("fig: --set seeds=many: bad value at `seeds`: invalid type: string")
                && m.ends_with("accepted keys: base, name, seeds"),
            "{m}"
        );
        let m = msg(&sets(&["base.steps=-1"]));
        assert!(
            m.contains("bad value at `base.steps`") && m.contains("of base"),
            "{m}"
        );
        let o = Overrides {
            patch: Some(json!({"bse": {}})),
            sets: Vec::new(),
        };
        assert_eq!(
            msg(&o),
            "fig: --config: unknown key `bse`; accepted keys: base, name, seeds"
        );
        let o = Overrides {
            patch: Some(json!({"base": {"stpes": 1}})),
            sets: Vec::new(),
        };
        let m = msg(&o);
        assert!(
            m.starts_with("fig: --config: bad value at `base.stpes`: unknown field `stpes`")
                && m.ends_with("accepted keys of base: lr, steps"),
            "{m}"
        );
        assert!(!msg(&sets(&["seeds.x=1"])).is_empty());
    }

    #[test]
    fn config_files_map_figures_or_give_one_figures_settings() {
        let ids = ["a", "b"];
        assert!(split_config_file(&json!({"a": {}, "b": {"seeds": 2}}), &ids).is_some());
        assert!(split_config_file(&json!({"a": {}, "seeds": 2}), &ids).is_none());
        assert!(split_config_file(&json!({}), &ids).is_none());
        assert!(has_key(&base(), "base.lr") && !has_key(&base(), "base.lr.x"));
    }
}
