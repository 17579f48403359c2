"""The acceptance counts a user bucket at a time (``score.acceptance_parts`` +
``acceptance_codes.collect_counts``) give the rows of ``acceptance_excess.acceptance_counts``
in one plan, on the real engine: filtered from the period's rows, and read from a staged copy
by user bucket as score's labels write it (a look-back row outside the period left out by
both); the reporting filter sees every bucket (org o1's edits are reported by one user only)."""

from __future__ import annotations

from datetime import timedelta

from builders import T0, interaction, make_interactions

from theater.buckets import user_bucket, write_partitioned
from theater.period import Period
from theater.signals import acceptance_codes as codes
from theater.signals import acceptance_excess as ax
from theater.stages import score

JULY = Period.parse(start="2026-07-01", end="2026-08-01")
UD_SCHEMA = (
    "org_id string, user_key string, day date, source_format string, feature string, "
    "accepted long, rejected long, dismissed long, suggestions_shown long, requests long"
)


def _events(spark):
    rows, i = [], 0
    for u in range(12):
        for k in range(6):
            action = "edit" if k % 3 == 0 else "chat"
            # o1's edits carry a disposition for user u1 only; o0 and o2 never report theirs
            disp = None if action == "edit" and u != 1 else ("accepted", "discarded")[k % 2]
            rows.append(
                interaction(
                    i,
                    ts=T0 + timedelta(hours=5 * k + u),
                    user_key=f"u{u}",
                    org_id=f"o{u % 3}",
                    action=action,
                    output_disposition=disp,
                )
            )
            i += 1
    rows.append(interaction(i, ts=T0 - timedelta(days=10), user_key="u1", org_id="o1"))
    return make_interactions(spark, rows)


def _user_days(spark):
    day = T0.date()
    rows = [
        ("o1", "u1", day, "gh", "code_completion", 5, None, None, 9, None),
        ("o1", "u1", day + timedelta(days=1), "gh", "code_completion", 2, None, None, 4, None),
        ("o2", "u13", day, "gh", "chat", 3, 1, None, None, 7),
        ("o2", "u13", day, "gh", "chat_subset", 3, 1, None, None, 7),  # a subset: left out
        ("o0", "u0", day, "gh", "code_completion", None, None, None, 5, None),  # no accepted
    ]
    return spark.createDataFrame(rows, UD_SCHEMA)


def _sorted(pdf):
    return sorted(tuple(r) for r in pdf[["org_id", "user_key", "feature", "n", "k"]].values)


def test_counts_by_user_bucket_equal_the_one_plan(spark, tmp_path):
    rows = _events(spark)
    events = rows.where(JULY.ts_col("event_ts"))
    ud = _user_days(spark)
    want = _sorted(ax.acceptance_counts(ud, events).toPandas())
    assert ("o1", "u1", "gh/code_completion", 13.0, 6.0) in want
    assert not [r for r in want if r[0] == "o2" and r[2].endswith("/edit")]
    assert [r for r in want if r[0] == "o1" and r[2].endswith("/edit")]
    aggs = score.Aggregates(period=None, history=None, user_days=ud)
    parts = score.acceptance_parts(spark, events, aggs, JULY, None, 3)
    assert _sorted(codes.collect_counts(parts).frame()) == want
    staging = str(tmp_path)
    write_partitioned(rows, user_bucket(3), score.staged_interactions(staging), False, 3)
    parts = score.acceptance_parts(spark, events, aggs, JULY, staging, 3)
    assert _sorted(codes.collect_counts(parts).frame()) == want
