//! Job settings: the `synchronizationJobSettings` name/value pairs, validated against the
//! template's declared settings, and the [`Policy`] figures of contract section 4 that
//! the transition function reads.

use super::time::IsoDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One `{"name","value"}` pair as Graph writes it. Values are always strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingPair {
    pub name: String,
    pub value: String,
}

/// The figures of contract section 4. The first five are job settings; the rest keep
/// the contract's defaults and exist so tests and embedders can name them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Time between cycles (`interval`, default `PT40M`).
    pub interval: IsoDuration,
    /// Entries per page (`pageSize`, default 500).
    pub page_size: u32,
    /// Deletes in one cycle that are held back (`deleteThreshold`, default 500).
    pub delete_threshold: u64,
    /// Failures a cycle must have before escrow thresholds apply (`escrowBaseThreshold`, 5,000).
    pub escrow_base_threshold: u64,
    /// Transient failures in a row that quarantine (`quarantineAfterFailures`, 3).
    pub quarantine_after_failures: u32,
    /// More than this share (percent) of processed entries failed → proportion threshold.
    pub escrow_proportion_percent: u64,
    /// More than this many failures → total threshold.
    pub escrow_total_threshold: u64,
    /// More than this many failures, reference failures included → base threshold.
    pub escrow_base_total_threshold: u64,
    /// Escrows older than this are dropped (28 days).
    pub escrow_max_age: IsoDuration,
    /// Upper bound of the quarantine back-off (24 h).
    pub quarantine_max_backoff: IsoDuration,
    /// A quarantine series this old disables the schedule (28 days).
    pub quarantine_disable_after: IsoDuration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            interval: IsoDuration::from_mins(40),
            page_size: 500,
            delete_threshold: 500,
            escrow_base_threshold: 5_000,
            quarantine_after_failures: 3,
            escrow_proportion_percent: 40,
            escrow_total_threshold: 40_000,
            escrow_base_total_threshold: 60_000,
            escrow_max_age: IsoDuration::from_days(28),
            quarantine_max_backoff: IsoDuration::from_hours(24),
            quarantine_disable_after: IsoDuration::from_days(28),
        }
    }
}

/// What a setting's value must look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingKind {
    /// A whole number in `min..=max`.
    Integer { min: u64, max: u64 },
    /// An ISO 8601 duration of at least one second and at most 30 days.
    Duration,
    /// A non-empty string (paths, names).
    Text,
}

/// One setting a template accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingSpec {
    pub name: String,
    pub kind: SettingKind,
    pub required: bool,
}

impl SettingSpec {
    pub fn new(name: &str, kind: SettingKind, required: bool) -> Self {
        Self {
            name: name.to_string(),
            kind,
            required,
        }
    }
}

/// A template: its id and the settings it reads besides the common ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSpec {
    pub id: String,
    pub settings: Vec<SettingSpec>,
}

/// The settings every template reads (contract section 6).
pub fn common_settings() -> Vec<SettingSpec> {
    use SettingKind::*;
    vec![
        SettingSpec::new("interval", Duration, false),
        SettingSpec::new("pageSize", Integer { min: 1, max: 10_000 }, false),
        SettingSpec::new(
            "deleteThreshold",
            Integer {
                min: 1,
                max: u32::MAX as u64,
            },
            false,
        ),
        SettingSpec::new(
            "escrowBaseThreshold",
            Integer {
                min: 1,
                max: u32::MAX as u64,
            },
            false,
        ),
        SettingSpec::new("quarantineAfterFailures", Integer { min: 1, max: 1_000 }, false),
    ]
}

/// A setting that was refused. Names the setting so an API can say which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("unknown setting `{name}` for template `{template}`")]
    Unknown { template: String, name: String },
    #[error("setting `{name}` has a bad value `{value}`: {reason}")]
    BadValue {
        name: String,
        value: String,
        reason: String,
    },
    #[error("setting `{name}` is given twice")]
    Duplicate { name: String },
}

/// A job's validated settings: the pairs as given (what Graph shows back), the typed
/// [`Policy`], and whether every required setting is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub values: BTreeMap<String, String>,
    pub policy: Policy,
    pub configured: bool,
}

impl Settings {
    /// No settings given, every figure at its default, and nothing required missing:
    /// the settings of a template that needs none.
    pub fn defaults() -> Self {
        Self {
            values: BTreeMap::new(),
            policy: Policy::default(),
            configured: true,
        }
    }

    /// Validates `pairs` merged over `base` (a PATCH keeps the names it does not send;
    /// an empty value removes a setting).
    pub fn merge(
        spec: &TemplateSpec,
        base: &BTreeMap<String, String>,
        pairs: &[SettingPair],
    ) -> Result<Self, SettingsError> {
        let known: Vec<SettingSpec> = common_settings()
            .into_iter()
            .chain(spec.settings.iter().cloned())
            .collect();
        let mut values = base.clone();
        let mut seen = std::collections::BTreeSet::new();
        for p in pairs {
            let Some(s) = known.iter().find(|s| s.name == p.name) else {
                return Err(SettingsError::Unknown {
                    template: spec.id.clone(),
                    name: p.name.clone(),
                });
            };
            if !seen.insert(p.name.as_str()) {
                return Err(SettingsError::Duplicate { name: p.name.clone() });
            }
            if p.value.is_empty() {
                values.remove(&p.name);
                continue;
            }
            check_value(s, &p.value)?;
            values.insert(p.name.clone(), p.value.clone());
        }
        let mut policy = Policy::default();
        let int = |n: &str| values.get(n).and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(v) = values.get("interval") {
            policy.interval = v.parse().unwrap_or(policy.interval);
        }
        if let Some(v) = int("pageSize") {
            policy.page_size = v as u32;
        }
        if let Some(v) = int("deleteThreshold") {
            policy.delete_threshold = v;
        }
        if let Some(v) = int("escrowBaseThreshold") {
            policy.escrow_base_threshold = v;
        }
        if let Some(v) = int("quarantineAfterFailures") {
            policy.quarantine_after_failures = v as u32;
        }
        let configured = known
            .iter()
            .filter(|s| s.required)
            .all(|s| values.contains_key(&s.name));
        Ok(Self {
            values,
            policy,
            configured,
        })
    }

    /// The pairs in name order, as the wire shows them.
    pub fn pairs(&self) -> Vec<SettingPair> {
        self.values
            .iter()
            .map(|(name, value)| SettingPair {
                name: name.clone(),
                value: value.clone(),
            })
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A whole-number setting, or `default` when absent (values were validated on entry).
    pub fn u64_or(&self, name: &str, default: u64) -> u64 {
        self.get(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }
}

fn check_value(spec: &SettingSpec, value: &str) -> Result<(), SettingsError> {
    let bad = |reason: String| SettingsError::BadValue {
        name: spec.name.clone(),
        value: value.to_string(),
        reason,
    };
    match &spec.kind {
        SettingKind::Integer { min, max } => {
            let v: u64 = value
                .trim()
                .parse()
                .map_err(|_| bad("expected a whole number".into()))?;
            if v < *min || v > *max {
                return Err(bad(format!("expected a number from {min} to {max}")));
            }
        }
        SettingKind::Duration => {
            let d: IsoDuration = value
                .parse()
                .map_err(|e: super::time::DurationError| bad(e.reason))?;
            if d.secs() == 0 || d > IsoDuration::from_days(30) {
                return Err(bad("expected a duration from PT1S to P30D".into()));
            }
        }
        SettingKind::Text => {
            if value.trim().is_empty() || value.contains('\0') {
                return Err(bad("expected a non-empty string".into()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TemplateSpec {
        TemplateSpec {
            id: "jsonl".into(),
            settings: vec![SettingSpec::new("sourcePath", SettingKind::Text, true)],
        }
    }
    fn pair(n: &str, v: &str) -> SettingPair {
        SettingPair {
            name: n.into(),
            value: v.into(),
        }
    }

    #[test]
    fn required_settings_make_configured() {
        let s = Settings::merge(&spec(), &BTreeMap::new(), &[]).unwrap();
        assert!(!s.configured);
        let s = Settings::merge(&spec(), &s.values, &[pair("sourcePath", "/x")]).unwrap();
        assert!(s.configured);
        let s = Settings::merge(&spec(), &s.values, &[pair("sourcePath", "")]).unwrap();
        assert!(!s.configured);
    }

    #[test]
    fn typed_policy_and_errors_name_the_setting() {
        let s = Settings::merge(
            &spec(),
            &BTreeMap::new(),
            &[pair("interval", "PT5M"), pair("pageSize", "100")],
        )
        .unwrap();
        assert_eq!(s.policy.interval.secs(), 300);
        assert_eq!(s.policy.page_size, 100);
        for (n, v) in [
            ("pageSize", "0"),
            ("pageSize", "x"),
            ("interval", "5m"),
            ("interval", "P31D"),
        ] {
            match Settings::merge(&spec(), &BTreeMap::new(), &[pair(n, v)]) {
                Err(SettingsError::BadValue { name, .. }) => assert_eq!(name, n),
                other => panic!("{n}={v}: {other:?}"),
            }
        }
        assert!(matches!(
            Settings::merge(&spec(), &BTreeMap::new(), &[pair("colour", "red")]),
            Err(SettingsError::Unknown { name, .. }) if name == "colour"
        ));
    }
}
