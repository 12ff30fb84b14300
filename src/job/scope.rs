//! `ResetScope`: what a restart drops (contract sections 2 and 3).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The flags of a restart. Parsed from Graph's flags string (`"Watermark, Escrows"`)
/// or from a JSON array of the same names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ResetScope {
    /// Drop every escrowed entry and the escrow counters.
    pub escrows: bool,
    /// Drop the watermark and the in-flight cycle: the next cycle is a fresh initial one.
    pub watermark: bool,
    /// Clear quarantine.
    pub quarantine_state: bool,
    /// Forget the source-to-target links kept by the connector.
    pub connector_data_store: bool,
    /// Let the next cycle apply the deletes the deletion threshold held back.
    pub force_deletes: bool,
}

/// A reset scope flag that is not one of Graph's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown resetScope flag `{flag}`: expected a comma-separated list of None, Escrows, Watermark, QuarantineState, ConnectorDataStore, ForceDeletes, Full"
)]
pub struct UnknownScopeFlag {
    pub flag: String,
}

impl ResetScope {
    /// `None`: the restart is a plain start.
    pub const NONE: Self = Self {
        escrows: false,
        watermark: false,
        quarantine_state: false,
        connector_data_store: false,
        force_deletes: false,
    };
    /// `Full`: escrows, watermark, quarantine and connector data store.
    pub const FULL: Self = Self {
        escrows: true,
        watermark: true,
        quarantine_state: true,
        connector_data_store: true,
        force_deletes: false,
    };
    /// What an absent, null or empty scope means: the portal's "restart".
    pub const PORTAL_DEFAULT: Self = Self {
        escrows: true,
        watermark: true,
        quarantine_state: true,
        connector_data_store: false,
        force_deletes: false,
    };

    fn names(self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.escrows {
            out.push("Escrows");
        }
        if self.watermark {
            out.push("Watermark");
        }
        if self.quarantine_state {
            out.push("QuarantineState");
        }
        if self.connector_data_store {
            out.push("ConnectorDataStore");
        }
        if self.force_deletes {
            out.push("ForceDeletes");
        }
        out
    }

    fn add(&mut self, flag: &str) -> Result<(), UnknownScopeFlag> {
        match flag {
            "None" => {}
            "Escrows" => self.escrows = true,
            "Watermark" => self.watermark = true,
            "QuarantineState" => self.quarantine_state = true,
            "ConnectorDataStore" => self.connector_data_store = true,
            "ForceDeletes" => self.force_deletes = true,
            "Full" => {
                let force = self.force_deletes;
                *self = Self::FULL;
                self.force_deletes = force;
            }
            other => {
                return Err(UnknownScopeFlag {
                    flag: other.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Parses the names of a JSON array; an empty array is the portal default.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, UnknownScopeFlag> {
        let mut scope = Self::NONE;
        let mut any = false;
        for name in names {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            any = true;
            scope.add(name)?;
        }
        Ok(if any { scope } else { Self::PORTAL_DEFAULT })
    }
}

impl FromStr for ResetScope {
    type Err = UnknownScopeFlag;
    /// Comma-separated flags, spaces allowed, case-sensitive; empty = portal default.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_names(s.split(','))
    }
}

impl fmt::Display for ResetScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        if names.is_empty() {
            f.write_str("None")
        } else {
            f.write_str(&names.join(", "))
        }
    }
}

impl Serialize for ResetScope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResetScope {
    /// Accepts the flags string, an array of names, or null.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Flags(String),
            Names(Vec<String>),
            Null(()),
        }
        match Form::deserialize(d)? {
            Form::Flags(s) => s.parse(),
            Form::Names(v) => Self::from_names(v.iter().map(String::as_str)),
            Form::Null(()) => Ok(Self::PORTAL_DEFAULT),
        }
        .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_string() {
        let s: ResetScope = "Watermark, Escrows".parse().unwrap();
        assert!(s.watermark && s.escrows && !s.quarantine_state);
        assert_eq!(s.to_string(), "Escrows, Watermark");
        assert_eq!("".parse::<ResetScope>().unwrap(), ResetScope::PORTAL_DEFAULT);
        assert_eq!(" , ".parse::<ResetScope>().unwrap(), ResetScope::PORTAL_DEFAULT);
        assert_eq!("None".parse::<ResetScope>().unwrap(), ResetScope::NONE);
        assert_eq!("Full".parse::<ResetScope>().unwrap(), ResetScope::FULL);
        let f: ResetScope = "ForceDeletes,Full".parse().unwrap();
        assert!(f.force_deletes && f.watermark && f.connector_data_store);
    }

    #[test]
    fn unknown_flag_is_named() {
        let e = "Watermark, escrows".parse::<ResetScope>().unwrap_err();
        assert_eq!(e.flag, "escrows");
        assert!(e.to_string().contains("`escrows`"));
    }

    #[test]
    fn json_forms() {
        let a: ResetScope = serde_json::from_str(r#"["Watermark","Escrows"]"#).unwrap();
        let b: ResetScope = serde_json::from_str(r#""Watermark, Escrows""#).unwrap();
        assert_eq!(a, b);
        let n: ResetScope = serde_json::from_str("null").unwrap();
        assert_eq!(n, ResetScope::PORTAL_DEFAULT);
        assert!(serde_json::from_str::<ResetScope>(r#"["Bogus"]"#).is_err());
        assert!(serde_json::from_str::<ResetScope>("42").is_err());
        for s in [ResetScope::NONE, ResetScope::FULL, ResetScope::PORTAL_DEFAULT] {
            let j = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<ResetScope>(&j).unwrap(), s);
        }
    }
}
