//! Loading Sigma rule files: detection rules, correlations and filters, from directories,
//! YAML text, or the pack built into the binary ([`RuleSet::builtin`]). Every document that
//! cannot be used is kept as a [`LoadFailure`] naming the file and the reason, never
//! dropped silently: `rsigma-parser` returns Ok with per-document errors in
//! `collection.errors`, and rules that parse may still fail to compile.

use std::path::Path;

use include_dir::{Dir, include_dir};
use rsigma_parser::{CorrelationRule, FilterRule, SigmaRule, parse_sigma_yaml};

use crate::DetectError;

/// Evident's rule pack (`rules/` at the repository root), compiled into the binary.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../rules");

/// A rule document that could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LoadFailure {
    /// The file (path, or `builtin:rules/...`).
    pub file: String,
    /// The rule's title when the document got that far.
    pub title: Option<String>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.title {
            Some(t) => write!(f, "{}: {t:?}: {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// One parsed document and the file it came from.
#[derive(Clone, Debug)]
pub(crate) enum Doc {
    Rule(Box<SigmaRule>),
    Correlation(Box<CorrelationRule>),
    Filter(Box<FilterRule>),
}

/// Parsed rules ready to be compiled into a [`crate::Detector`].
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub(crate) docs: Vec<(String, Doc)>,
    pub(crate) failures: Vec<LoadFailure>,
    files: usize,
}

impl RuleSet {
    /// An empty set.
    pub fn new() -> RuleSet {
        RuleSet::default()
    }

    /// Evident's own rule pack.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::new();
        for (path, text) in builtin_files(false) {
            set.add_yaml(&format!("builtin:rules/{path}"), &text);
        }
        set
    }

    /// Adds every `*.yml` / `*.yaml` file under `dir` (recursively; directories named
    /// `tests` hold rule tests, not rules, and are skipped), or `dir` itself when it is a
    /// file. Returns the number of files read.
    pub fn add_path(&mut self, dir: &Path) -> Result<usize, DetectError> {
        let io = |source| DetectError::Io {
            path: dir.to_owned(),
            source,
        };
        if dir.is_file() {
            let text = std::fs::read_to_string(dir).map_err(io)?;
            self.add_yaml(&dir.display().to_string(), &text);
            return Ok(1);
        }
        let mut files = Vec::new();
        collect_yaml(dir, &mut files).map_err(io)?;
        files.sort();
        for f in &files {
            match std::fs::read_to_string(f) {
                Ok(text) => self.add_yaml(&f.display().to_string(), &text),
                Err(e) => self.failures.push(LoadFailure {
                    file: f.display().to_string(),
                    title: None,
                    reason: format!("cannot read: {e}"),
                }),
            }
        }
        Ok(files.len())
    }

    /// Adds the documents of one YAML file (`origin` names it in failures and alerts).
    pub fn add_yaml(&mut self, origin: &str, text: &str) {
        self.files += 1;
        let fail = |title: Option<String>, reason: String| LoadFailure {
            file: origin.to_owned(),
            title,
            reason,
        };
        let collection = match parse_sigma_yaml(text) {
            Ok(c) => c,
            Err(e) => {
                self.failures.push(fail(None, e.to_string()));
                return;
            }
        };
        for e in &collection.errors {
            self.failures.push(fail(None, e.clone()));
        }
        for mut rule in collection.rules {
            for d in rule.detection.named.values_mut() {
                keyword_items_contain(d);
            }
            match rsigma_eval::compile_rule(&rule) {
                Ok(_) => self
                    .docs
                    .push((origin.to_owned(), Doc::Rule(Box::new(rule)))),
                Err(e) => self
                    .failures
                    .push(fail(Some(rule.title.clone()), e.to_string())),
            }
        }
        for mut corr in collection.correlations {
            default_temporal_condition(&mut corr);
            match rsigma_eval::correlation::compile_correlation(&corr) {
                Ok(_) => self
                    .docs
                    .push((origin.to_owned(), Doc::Correlation(Box::new(corr)))),
                Err(e) => self
                    .failures
                    .push(fail(Some(corr.title.clone()), e.to_string())),
            }
        }
        for filter in collection.filters {
            self.docs
                .push((origin.to_owned(), Doc::Filter(Box::new(filter))));
        }
    }

    /// Files read.
    pub fn file_count(&self) -> usize {
        self.files
    }

    /// Documents that parsed and compiled: (detection rules, correlations, filters).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for (_, d) in &self.docs {
            match d {
                Doc::Rule(_) => c.0 += 1,
                Doc::Correlation(_) => c.1 += 1,
                Doc::Filter(_) => c.2 += 1,
            }
        }
        c
    }

    /// Documents that could not be loaded so far (the [`crate::Detector`] adds those it
    /// cannot place, e.g. a correlation over an unknown rule).
    pub fn failures(&self) -> &[LoadFailure] {
        &self.failures
    }
}

/// Keywords are searched for anywhere in the event's text (`kw: [a, b]`, and the
/// `kw: {'|all': [a, b]}` form SigmaHQ's Linux rules use). rsigma 0.23 gives a field-less
/// item with modifiers (the `|all` form) exact-match semantics, so such an item gets
/// `contains` unless it already says where the value goes.
fn keyword_items_contain(d: &mut rsigma_parser::Detection) {
    use rsigma_parser::{Detection, Modifier};
    match d {
        Detection::AllOf(items) => {
            for item in items {
                let m = &mut item.field.modifiers;
                let positioned = m.iter().any(|x| {
                    matches!(
                        x,
                        Modifier::Contains
                            | Modifier::StartsWith
                            | Modifier::EndsWith
                            | Modifier::Re
                            | Modifier::Cidr
                            | Modifier::Exists
                            | Modifier::FieldRef
                    )
                });
                if item.field.name.is_none() && !positioned {
                    m.insert(0, Modifier::Contains);
                }
            }
        }
        Detection::AnyOf(ds) | Detection::And(ds) => ds.iter_mut().for_each(keyword_items_contain),
        _ => {}
    }
}

/// A temporal correlation without a condition needs every rule it lists (Sigma
/// correlation spec); rsigma-parser 0.23 defaults it to one rule (`gte: 1`), which would
/// fire on any single listed rule. Nobody writes `gte: 1` for a temporal correlation on
/// purpose (it would not correlate anything), so that value is read as the default.
fn default_temporal_condition(corr: &mut CorrelationRule) {
    use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationType};
    if !matches!(
        corr.correlation_type,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    ) {
        return;
    }
    if let CorrelationCondition::Threshold {
        predicates,
        field: None,
        percentile: None,
    } = &mut corr.condition
        && predicates.as_slice() == [(ConditionOperator::Gte, 1)]
    {
        predicates[0].1 = corr.rules.len() as u64;
    }
}

/// The built-in pack's files as (path under `rules/`, text): the rules, or with
/// `tests` the test files under `rules/tests/`.
pub fn builtin_files(tests: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk_builtin(&BUILTIN, tests, &mut out);
    out.sort();
    out
}

fn walk_builtin(dir: &Dir<'static>, tests: bool, out: &mut Vec<(String, String)>) {
    for f in dir.files() {
        let path = f.path();
        let in_tests = path.components().any(|c| c.as_os_str() == "tests");
        let yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        );
        if yaml
            && in_tests == tests
            && let Some(text) = f.contents_utf8()
        {
            out.push((path.display().to_string(), text.to_owned()));
        }
    }
    for d in dir.dirs() {
        walk_builtin(d, tests, out);
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_file_and_the_reason() {
        let mut set = RuleSet::new();
        set.add_yaml(
            "bad.yml",
            "title: Bad regex\nlogsource: {product: okta}\ndetection:\n  sel:\n    a|re: '(unclosed'\n  condition: sel\n",
        );
        set.add_yaml(
            "nodetect.yml",
            "title: No detection\nlogsource: {product: okta}\n",
        );
        set.add_yaml(
            "good.yml",
            "title: Good\nlogsource: {product: okta}\ndetection:\n  sel:\n    a: b\n  condition: sel\n",
        );
        assert_eq!(set.counts(), (1, 0, 0));
        assert_eq!(set.file_count(), 3);
        let f = set.failures();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].file, "bad.yml");
        assert_eq!(f[0].title.as_deref(), Some("Bad regex"));
        assert!(
            f[0].reason.starts_with("invalid regex pattern"),
            "{}",
            f[0].reason
        );
        assert_eq!(f[1].file, "nodetect.yml");
        assert!(f[1].reason.contains("detection"), "{}", f[1].reason);
    }

    #[test]
    fn the_builtin_pack_has_rules_and_tests() {
        let set = RuleSet::builtin();
        assert!(set.failures().is_empty(), "{:?}", set.failures());
        assert!(set.counts().0 >= 3);
        let tests = builtin_files(true);
        assert!(
            tests
                .iter()
                .any(|(p, _)| p == "tests/brute_force_failed_logins.yml"),
            "{:?}",
            tests.iter().map(|t| &t.0).collect::<Vec<_>>()
        );
    }
}
