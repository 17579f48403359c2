"""Rows with a cell and user-weeks with a quota and quota bunching's signal: the frames the
tests of quota bunching's cell counts share."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

ROWS = "org_id string, user_key string, event_ts timestamp, cell int"
WEEKS = (
    "org_id string, user_key string, week_start date, weekly_quota long, sig_quota_bunching double"
)


def hand_frames(spark):
    """Org A (quota 10): u1's week of 2026-01-05 is bunched (sig 0.2), its week of 2026-01-12
    is not (sig 0), its week of 2026-01-19 is NA (sig null); u2's week of 2026-01-05 has no
    user-week row at all. A row without org is never counted."""
    mon = datetime(2026, 1, 5, 9)
    rows = [
        ("A", "u1", mon, 1),
        ("A", "u1", mon + timedelta(days=1), 1),
        ("A", "u1", mon + timedelta(days=4, hours=8), 1),  # Friday: same ISO week
        ("A", "u1", mon + timedelta(days=2), 0),
        ("A", "u1", mon + timedelta(days=7), 1),  # week of 01-12: not bunched
        ("A", "u1", mon + timedelta(days=8), 2),
        ("A", "u1", mon + timedelta(days=14), 1),  # week of 01-19: NA
        ("A", "u2", mon, 1),  # no user-week
        (None, "u1", mon, 1),  # no org: left out
    ]
    weeks = [
        ("A", "u1", date(2026, 1, 5), 10, 0.2),
        ("A", "u1", date(2026, 1, 12), 10, 0.0),
        ("A", "u1", date(2026, 1, 19), 10, None),
    ]
    return spark.createDataFrame(rows, ROWS), spark.createDataFrame(weeks, WEEKS)


def generated_frames(spark, seed):
    """3 orgs (two quotas in org o0), 15 users, 3 weeks, 4 cells; random counts and weights."""
    rnd = random.Random(seed)
    rows, weeks = [], []
    for u in range(15):
        org = f"o{u % 3}"
        for w in range(3):
            start = date(2026, 2, 2) + timedelta(weeks=w)
            quota = 20 if (org == "o0" and w == 2) else 10
            weeks.append((org, f"u{u}", start, quota, rnd.choice([None, 0.0, 0.3])))
            for _ in range(rnd.randint(0, 6)):
                ts = datetime.combine(start, datetime.min.time()) + timedelta(
                    hours=rnd.randint(0, 24 * 7 - 1)
                )
                rows.append((org, f"u{u}", ts, rnd.randint(0, 3)))
    return spark.createDataFrame(rows, ROWS), spark.createDataFrame(weeks, WEEKS)
