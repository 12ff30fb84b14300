//! The `generated` template: deterministic users from `seed` and `entries`.
//!
//! Generation 0 is every user `0..entries` at attribute version 0. Each incremental
//! cycle from watermark `g` reads change set `g + 1`: `changesPerCycle` changes, each
//! picking a user and either updating it (re-creating it if deleted) to version `g + 1`
//! or, one time in ten, deleting it. Users are never added beyond `entries`, so an
//! initial cycle after a watermark reset leaves the target exactly at generation 0 and
//! the source's state at a watermark is always well defined ([`state_at`]).

use super::{Change, ConnectorError, ConnectorFactory, Op, Source, SourcePage, Target, builtin_target};
use crate::job::{EntryKey, JobState, SettingKind, SettingSpec, TemplateSpec};
use std::collections::HashMap;

pub const ID: &str = "generated";
const OBJECT_TYPE: &str = "User";

pub fn spec() -> TemplateSpec {
    use SettingKind::Integer;
    TemplateSpec {
        id: ID.into(),
        settings: vec![
            SettingSpec::new(
                "seed",
                Integer {
                    min: 0,
                    max: u64::MAX,
                },
                false,
            ),
            SettingSpec::new(
                "entries",
                Integer {
                    min: 0,
                    max: 100_000_000,
                },
                false,
            ),
            SettingSpec::new(
                "changesPerCycle",
                Integer {
                    min: 0,
                    max: 10_000_000,
                },
                false,
            ),
            super::target_path_setting(),
        ],
    }
}

/// The generator's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub seed: u64,
    pub entries: u64,
    pub changes_per_cycle: u64,
}

impl Params {
    pub fn of(job: &JobState) -> Self {
        let entries = job.settings.u64_or("entries", 10_000);
        Self {
            seed: job.settings.u64_or("seed", 1),
            entries,
            // No users, no changes: a change picks an existing user.
            changes_per_cycle: if entries == 0 {
                0
            } else {
                job.settings.u64_or("changesPerCycle", (entries / 100).max(1))
            },
        }
    }

    /// Change `j` of change set `generation`: which user, and whether it is deleted.
    pub fn change(&self, generation: u64, j: u64) -> (u64, bool) {
        let h = mix(self.seed
            ^ generation.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ j.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
        (h % self.entries.max(1), (h >> 32).is_multiple_of(10))
    }
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn key(i: u64) -> EntryKey {
    EntryKey::new(OBJECT_TYPE, format!("user{i:08}"))
}

fn index_of(key: &EntryKey) -> Option<u64> {
    key.id.strip_prefix("user")?.parse().ok()
}

/// The attributes of user `i` at attribute version `v`.
pub fn attributes(p: &Params, i: u64, v: u64) -> String {
    let dept = mix(p.seed ^ i ^ v.rotate_left(17)) % 20;
    format!(
        r#"{{"displayName":"User {i}","mail":"user{i}@contoso.example","department":"D{dept:02}","accountEnabled":true,"version":{v}}}"#
    )
}

/// Users whose state differs from generation 0 after `generation` change sets:
/// `Some(version)` updated, `None` deleted. Every other user is present at version 0.
pub fn overrides_at(p: &Params, generation: u64) -> HashMap<u64, Option<u64>> {
    let mut o = HashMap::new();
    for g in 1..=generation {
        for j in 0..p.changes_per_cycle {
            let (i, delete) = p.change(g, j);
            o.insert(i, if delete { None } else { Some(g) });
        }
    }
    o
}

/// The whole source at `generation`, as `(key, attributes)` in key order.
pub fn state_at(p: &Params, generation: u64) -> Vec<(EntryKey, String)> {
    let o = overrides_at(p, generation);
    (0..p.entries)
        .filter_map(|i| match o.get(&i) {
            Some(None) => None,
            Some(Some(v)) => Some((key(i), attributes(p, i, *v))),
            None => Some((key(i), attributes(p, i, 0))),
        })
        .collect()
}

fn generation(watermark: Option<&str>) -> Result<u64, ConnectorError> {
    match watermark {
        None => Ok(0),
        Some(w) => w
            .parse()
            .map_err(|_| ConnectorError::fatal("BadWatermark", format!("`{w}` is not a generation"))),
    }
}

pub struct GeneratedSource {
    p: Params,
    /// `overrides_at` memoised for one generation (escrow retries, provisioning).
    memo: Option<(u64, HashMap<u64, Option<u64>>)>,
}

impl GeneratedSource {
    pub fn new(p: Params) -> Self {
        Self { p, memo: None }
    }
}

impl Source for GeneratedSource {
    fn begin(&mut self, watermark: Option<&str>) -> Result<(u64, Option<u64>), ConnectorError> {
        Ok(match watermark {
            None => (0, Some(self.p.entries)),
            Some(_) => (0, Some(self.p.changes_per_cycle)),
        })
    }

    fn read(
        &mut self,
        watermark: Option<&str>,
        cursor: u64,
        max: usize,
    ) -> Result<SourcePage, ConnectorError> {
        let p = self.p;
        let (len, next_gen) = match watermark {
            None => (p.entries, 0),
            Some(w) => (p.changes_per_cycle, generation(Some(w))? + 1),
        };
        let end_at = cursor.saturating_add(max as u64).min(len);
        let changes = (cursor..end_at)
            .map(|j| {
                if watermark.is_none() {
                    return Change {
                        op: Op::Upsert,
                        key: key(j),
                        attributes: attributes(&p, j, 0),
                    };
                }
                let (i, delete) = p.change(next_gen, j);
                Change {
                    op: if delete { Op::Delete } else { Op::Upsert },
                    key: key(i),
                    attributes: if delete {
                        String::new()
                    } else {
                        attributes(&p, i, next_gen)
                    },
                }
            })
            .collect();
        Ok(SourcePage {
            changes,
            failed: vec![],
            next_cursor: end_at.max(cursor),
            end: (end_at >= len).then(|| next_gen.to_string()),
            total: Some(len),
        })
    }

    fn get(&mut self, key: &EntryKey, watermark: Option<&str>) -> Result<Option<Change>, ConnectorError> {
        let Some(i) = index_of(key).filter(|i| *i < self.p.entries && key.object_type == OBJECT_TYPE) else {
            return Ok(None);
        };
        let g = generation(watermark)?;
        if self.memo.as_ref().is_none_or(|(mg, _)| *mg != g) {
            self.memo = Some((g, overrides_at(&self.p, g)));
        }
        let version = match self.memo.as_ref().and_then(|(_, o)| o.get(&i).copied()) {
            Some(None) => return Ok(None),
            Some(Some(v)) => v,
            None => 0,
        };
        Ok(Some(Change {
            op: Op::Upsert,
            key: key.clone(),
            attributes: attributes(&self.p, i, version),
        }))
    }

    fn check(&mut self) -> Result<(), ConnectorError> {
        Ok(())
    }
}

pub struct Factory;

impl ConnectorFactory for Factory {
    fn source(&self, job: &JobState) -> Result<Box<dyn Source>, ConnectorError> {
        Ok(Box::new(GeneratedSource::new(Params::of(job))))
    }
    fn target(&self, job: &JobState) -> Result<Box<dyn Target>, ConnectorError> {
        builtin_target(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incremental_cycle_moves_the_source_from_one_generation_to_the_next() {
        let p = Params {
            seed: 7,
            entries: 50,
            changes_per_cycle: 30,
        };
        let mut src = GeneratedSource::new(p);
        let mut state: std::collections::BTreeMap<EntryKey, String> = state_at(&p, 0).into_iter().collect();
        let page = src.read(Some("0"), 0, 1000).unwrap();
        assert_eq!(page.end.as_deref(), Some("1"));
        for c in page.changes {
            match c.op {
                Op::Upsert => state.insert(c.key, c.attributes),
                Op::Delete => state.remove(&c.key),
            };
        }
        assert_eq!(state.into_iter().collect::<Vec<_>>(), state_at(&p, 1));
        assert!(
            state_at(&p, 5).len() < 50,
            "five change sets of 30 delete some of 50 users"
        );
    }
}
