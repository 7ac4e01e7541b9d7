//! The performance goals of the project's issues, checked against one run's records: each
//! a ratio of two measurements of the same run (or an absolute figure, such as peak memory),
//! with its target and whether this run meets it. A goal whose records are missing (a
//! filtered run) is listed as not measured.

use std::fmt::Write as _;

use serde_json::Value;

use crate::bench::{Records, number};

/// What a goal's figure must be.
#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
    Between(f64, f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtMost(limit) => value <= limit,
            Target::AtLeast(limit) => value >= limit,
            Target::Between(low, high) => (low..=high).contains(&value),
        }
    }

    fn show(self, unit: &str) -> String {
        match self {
            Target::AtMost(limit) => format!("≤ {limit}{unit}"),
            Target::AtLeast(limit) => format!("≥ {limit}{unit}"),
            Target::Between(low, high) => format!("{low}{unit} … {high}{unit}"),
        }
    }
}

struct Goal {
    what: &'static str,
    figure: fn(&Records) -> Option<f64>,
    target: Target,
    /// `x` for ratios, ` MB` for memory (shown without decimals), ` GiB/s` for throughput.
    unit: &'static str,
}

fn field(records: &Records, name: &str, field: &str) -> Option<f64> {
    let value = number(records.get(name)?, field);
    value.is_finite().then_some(value)
}

fn ops(records: &Records, name: &str) -> Option<f64> {
    field(records, name, "ops_per_sec")
}

fn p50(records: &Records, name: &str) -> Option<f64> {
    field(records, name, "p50_us")
}

/// A number in a record's `extra` object.
fn extra(records: &Records, name: &str, key: &str) -> Option<f64> {
    match records.get(name)?.get("extra")?.get(key)? {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?).filter(|r| r.is_finite())
}

const GOALS: &[Goal] = &[
    Goal {
        what: "filesystem: first page of 20,000 keys vs of 100 keys (p50)",
        figure: |r| ratio(p50(r, "fs_list/first_page_20000"), p50(r, "fs_list/first_page_100")),
        target: Target::AtMost(1.5),
        unit: "x",
    },
    Goal {
        what: "filesystem: first page of 20,000 keys vs FilesystemStoreV2 (pages/s)",
        figure: |r| {
            ratio(ops(r, "fs_list/first_page_20000"), ops(r, "fs_list/fs_v2_first_page_20000"))
        },
        target: Target::AtLeast(10.0),
        unit: "x",
    },
    Goal {
        what: "SQLite + SQLite backup, 1 in flight, vs the slower tier alone (p50)",
        figure: |r| {
            ratio(p50(r, "dual_write/sqlite+sqlite_backup_c1"), p50(r, "dual_write/sqlite_c1"))
        },
        target: Target::AtMost(1.15),
        unit: "x",
    },
    Goal {
        what: "SQLite + filesystem backup, 1 in flight, vs the slower tier alone (p50)",
        figure: |r| {
            let slower = p50(r, "dual_write/sqlite_c1")?.max(p50(r, "dual_write/fs_c1")?);
            ratio(p50(r, "dual_write/sqlite+fs_backup_c1"), Some(slower))
        },
        target: Target::AtMost(1.15),
        unit: "x",
    },
    Goal {
        what: "SQLite + SQLite backup, 1 in flight, vs both SQLite files written at once by \
               hand (p50: TierStore's own cost)",
        figure: |r| {
            ratio(
                p50(r, "dual_write/sqlite+sqlite_backup_c1"),
                p50(r, "dual_write/two_sqlite_joined_c1"),
            )
        },
        target: Target::AtMost(1.15),
        unit: "x",
    },
    Goal {
        what: "SQLite + filesystem backup, 1 in flight, vs both written at once by hand (p50)",
        figure: |r| {
            ratio(
                p50(r, "dual_write/sqlite+fs_backup_c1"),
                p50(r, "dual_write/sqlite_fs_joined_c1"),
            )
        },
        target: Target::AtMost(1.15),
        unit: "x",
    },
    Goal {
        what: "SQLite + SQLite backup, 16 in flight, vs SQLite alone (configs, writes/s)",
        figure: |r| {
            ratio(ops(r, "configs/sqlite+sqlite_backup__write"), ops(r, "configs/sqlite__write"))
        },
        target: Target::AtLeast(0.6),
        unit: "x",
    },
    Goal {
        what: "SQLite + SQLite backup, 16 in flight, vs SQLite alone (new keys, writes/s)",
        figure: |r| {
            ratio(ops(r, "dual_write/sqlite+sqlite_backup_c16"), ops(r, "dual_write/sqlite_c16"))
        },
        target: Target::AtLeast(0.6),
        unit: "x",
    },
    Goal {
        what: "replica of ldk-node's write path vs the real ldk-node 0.7.1, 1 in flight",
        figure: |r| {
            ratio(ops(r, "sqlite_write/ldk_node_c1"), ops(r, "sqlite_write/ldk_node_real_c1"))
        },
        target: Target::Between(0.8, 1.25),
        unit: "x",
    },
    Goal {
        what: "replica of ldk-node's write path vs the real ldk-node 0.7.1, 16 in flight",
        figure: |r| {
            ratio(ops(r, "sqlite_write/ldk_node_c16"), ops(r, "sqlite_write/ldk_node_real_c16"))
        },
        target: Target::Between(0.8, 1.25),
        unit: "x",
    },
    Goal {
        what: "SQLite, 1 in flight, vs the real ldk-node SqliteStore",
        figure: |r| {
            ratio(ops(r, "sqlite_write/tierstore_c1"), ops(r, "sqlite_write/ldk_node_real_c1"))
        },
        target: Target::AtLeast(3.0),
        unit: "x",
    },
    Goal {
        what: "SQLite, 1 in flight, vs the disk's fsync rate (alternating rounds)",
        figure: |r| ratio(ops(r, "sqlite_sync/tierstore_c1"), ops(r, "sqlite_sync/disk_fsync")),
        target: Target::AtLeast(0.5),
        unit: "x",
    },
    Goal {
        what: "SQLite, 16 in flight, vs the real ldk-node SqliteStore",
        figure: |r| {
            ratio(ops(r, "sqlite_write/tierstore_c16"), ops(r, "sqlite_write/ldk_node_real_c16"))
        },
        target: Target::AtLeast(10.0),
        unit: "x",
    },
    Goal {
        what: "journal: SQLite + SQLite backup, 16 in flight, with vs without (writes/s)",
        figure: |r| {
            ratio(
                ops(r, "journal/sqlite+sqlite_backup+journal__c16"),
                ops(r, "journal/sqlite+sqlite_backup__c16"),
            )
        },
        target: Target::AtLeast(0.85),
        unit: "x",
    },
    Goal {
        what: "journal: p50 it adds at 1 in flight vs the disk's fsync p50",
        figure: |r| {
            let added = p50(r, "journal/sqlite+sqlite_backup+journal__c1")?
                - p50(r, "journal/sqlite+sqlite_backup__c1")?;
            ratio(Some(added), p50(r, "disk/fsync"))
        },
        target: Target::AtMost(1.0),
        unit: "x",
    },
    Goal {
        what: "journal, 1 in flight: TierStore vs the same journal and writes by hand (p50: \
               TierStore's own cost)",
        figure: |r| {
            ratio(
                p50(r, "journal/sqlite+sqlite_backup+journal__c1"),
                p50(r, "journal/hand_journal__c1"),
            )
        },
        target: Target::AtMost(1.15),
        unit: "x",
    },
    Goal {
        what: "journal, 16 in flight: TierStore (group commit) vs a journal by hand that syncs \
               each record (writes/s)",
        figure: |r| {
            ratio(
                ops(r, "journal/sqlite+sqlite_backup+journal__c16"),
                ops(r, "journal/hand_journal__c16"),
            )
        },
        target: Target::AtLeast(1.0),
        unit: "x",
    },
    Goal {
        what: "encryption: sealing 1 MiB values, one core",
        figure: |r| extra(r, "encrypt/seal_1MiB", "gib_per_s"),
        target: Target::AtLeast(1.0),
        unit: " GiB/s",
    },
    Goal {
        what: "encryption: S3 backup write latency, 1 MiB, encrypted vs plain (p50)",
        figure: |r| {
            ratio(p50(r, "encrypt/s3_encrypted_write_1MiB"), p50(r, "encrypt/s3_plain_write_1MiB"))
        },
        target: Target::AtMost(1.05),
        unit: "x",
    },
    Goal {
        what: "encryption: S3 backup write latency, 4 KiB, encrypted vs plain (p50)",
        figure: |r| {
            ratio(p50(r, "encrypt/s3_encrypted_write_4KiB"), p50(r, "encrypt/s3_plain_write_4KiB"))
        },
        target: Target::AtMost(1.05),
        unit: "x",
    },
    Goal {
        what: "large store: peak RSS of copy",
        figure: |r| extra(r, "large_store/copy", "peak_rss_mb"),
        target: Target::AtMost(300.0),
        unit: " MB",
    },
    Goal {
        what: "large store: peak RSS of verify",
        figure: |r| extra(r, "large_store/verify", "peak_rss_mb"),
        target: Target::AtMost(300.0),
        unit: " MB",
    },
    Goal {
        what: "large store: copy rate vs raw SQLite INSERT … SELECT",
        figure: |r| ratio(ops(r, "large_store/copy"), ops(r, "large_store/raw_copy")),
        target: Target::AtLeast(0.5),
        unit: "x",
    },
];

/// The goals table of the report.
pub(crate) fn table(records: &Records) -> String {
    let mut out = String::from(
        "## Goals\n\nEach figure compares measurements of this run (see the tables above).\n\n\
         | goal | this run | target | met |\n|---|---:|---:|:---:|\n",
    );
    for goal in GOALS {
        let (figure, met) = match (goal.figure)(records) {
            Some(value) => {
                let shown = match goal.unit {
                    " MB" => format!("{value:.0}{}", goal.unit),
                    unit => format!("{value:.2}{unit}"),
                };
                (shown, if goal.target.met(value) { "yes" } else { "**no**" })
            }
            None => ("not measured".to_owned(), "—"),
        };
        let _ =
            writeln!(out, "| {} | {figure} | {} | {met} |", goal.what, goal.target.show(goal.unit));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_are_checked_or_marked_missing() {
        let mut records = Records::new();
        for (name, ops, p50) in [
            ("fs_list/first_page_100", 50_000.0, 20),
            ("fs_list/first_page_20000", 40_000.0, 26),
            ("fs_list/fs_v2_first_page_20000", 13.0, 77_000),
        ] {
            let (group, id) = name.split_once('/').unwrap();
            let json = serde_json::json!({
                "group": group, "id": id, "concurrency": 1, "ops_per_sec": ops, "p50_us": p50,
                "p99_us": p50, "baseline": null, "note": ""
            });
            let Value::Object(map) = json else { unreachable!() };
            records.insert(name.to_owned(), map);
        }
        let table = table(&records);
        assert!(table.contains("| filesystem: first page of 20,000 keys vs of 100 keys (p50) | 1.30x | ≤ 1.5x | yes |"), "{table}");
        assert!(
            table.contains("vs FilesystemStoreV2 (pages/s) | 3076.92x | ≥ 10x | yes |"),
            "{table}"
        );
        assert!(
            table.contains("| large store: peak RSS of copy | not measured | ≤ 300 MB | — |"),
            "{table}"
        );
    }

    fn insert(records: &mut Records, name: &str, p50: u64, extra: Value) {
        let (group, id) = name.split_once('/').unwrap();
        let json = serde_json::json!({
            "group": group, "id": id, "concurrency": 1, "ops_per_sec": 1.0, "p50_us": p50,
            "p99_us": p50, "baseline": null, "note": "", "extra": extra
        });
        let Value::Object(map) = json else { unreachable!() };
        records.insert(name.to_owned(), map);
    }

    #[test]
    fn the_journal_goal_compares_the_latency_it_adds_with_one_fsync() {
        let mut records = Records::new();
        insert(&mut records, "journal/sqlite+sqlite_backup__c1", 200, Value::Null);
        insert(&mut records, "journal/sqlite+sqlite_backup+journal__c1", 260, Value::Null);
        insert(&mut records, "disk/fsync", 75, Value::Null);
        insert(&mut records, "encrypt/seal_1MiB", 700, serde_json::json!({"gib_per_s": 1.456}));
        let table = table(&records);
        assert!(
            table.contains("| journal: p50 it adds at 1 in flight vs the disk's fsync p50 | 0.80x | ≤ 1x | yes |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| encryption: sealing 1 MiB values, one core | 1.46 GiB/s | ≥ 1 GiB/s | yes |"
            ),
            "{table}"
        );
        insert(&mut records, "journal/sqlite+sqlite_backup+journal__c1", 290, Value::Null);
        assert!(table_row_met(&records, "journal: p50 it adds") == Some(false));
    }

    fn table_row_met(records: &Records, what: &str) -> Option<bool> {
        let table = table(records);
        let row = table.lines().find(|l| l.starts_with(&format!("| {what}")))?;
        Some(row.ends_with("| yes |"))
    }

    #[test]
    fn targets_compare_as_stated() {
        assert!(Target::AtMost(1.15).met(1.15) && !Target::AtMost(1.15).met(1.16));
        assert!(Target::AtLeast(3.0).met(3.5) && !Target::AtLeast(3.0).met(2.9));
        assert!(Target::Between(0.8, 1.25).met(1.0) && !Target::Between(0.8, 1.25).met(1.3));
    }
}
