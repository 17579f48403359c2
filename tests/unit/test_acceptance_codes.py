"""The acceptance counts collected a user bucket at a time as integer codes
(theater.signals.acceptance_codes): the rows and the estimate equal the one plan's, on
hand-made parts; expected rows worked out in the comments."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from theater.signals import acceptance_codes as codes
from theater.signals import acceptance_excess as ax

COLS = ["org_id", "user_key", "feature", "n", "k"]


def _rows(counts: codes.Counts) -> list[tuple]:
    return sorted(tuple(r) for r in counts.frame()[COLS].itertuples(index=False))


def _coded(*parts: pd.DataFrame) -> codes.Counts:
    coder = codes._Coder()
    for p in parts:
        coder.add(p)
    return coder.finish()


def test_reporting_filter_reads_every_part_and_sums_per_key():
    # bucket 1: org a's users u1, u2; bucket 2: org a's u3 and org b's u4
    ev1 = pd.DataFrame(
        [
            ("a", "u1", "x/t/chat", 4.0, 1.0, 0),  # (a, x/t/chat) reported in bucket 2 only
            ("a", "u1", "x/t/edit", 2.0, 2.0, 0),  # (a, x/t/edit): never reported -> dropped
            ("a", "u2", "x/t/chat", 3.0, 0.0, 0),
        ],
        columns=COLS + ["_reported"],
    )
    ev2 = pd.DataFrame(
        [
            ("a", "u3", "x/t/chat", 5.0, 2.0, 1),
            ("b", "u4", "x/t/chat", 6.0, 6.0, 0),  # (b, x/t/chat): not reported -> dropped
            ("b", "u4", "x/t/edit", 1.0, 0.0, 1),
        ],
        columns=COLS + ["_reported"],
    )
    # user-day rows are kept without a disposition; u1's (a, x/t/chat) gets 10 + 4 outputs
    ud = pd.DataFrame(
        [("a", "u1", "x/t/chat", 10.0, 3.0), ("b", "u5", "gh/completion", 8.0, 5.0)],
        columns=COLS,
    )
    got = _rows(_coded(ev1, ud, ev2))
    assert got == [
        ("a", "u1", "x/t/chat", 14.0, 4.0),
        ("a", "u2", "x/t/chat", 3.0, 0.0),
        ("a", "u3", "x/t/chat", 5.0, 2.0),
        ("b", "u4", "x/t/edit", 1.0, 0.0),
        ("b", "u5", "gh/completion", 8.0, 5.0),
    ]


def test_same_user_key_in_two_orgs_stays_two_users():
    p = pd.DataFrame(
        [("a", "u", "f", 1.0, 1.0), ("b", "u", "f", 2.0, 0.0)],
        columns=COLS,
    )
    c = _coded(p)
    assert len(c.user_org) == 2
    assert _rows(c) == [("a", "u", "f", 1.0, 1.0), ("b", "u", "f", 2.0, 0.0)]


def _world(seed: int = 3):
    """Three orgs, two sources of one kind, shuffled rows, a row with n = 0, k above n and
    below 0, users without rows and rows without a usage row."""
    rng = np.random.default_rng(seed)
    rows = []
    for o, p in (("org-b", 0.35), ("org-a", 0.2), ("org-c", 0.5)):
        for u in range(14):
            for f in ("gh/code_completion", "cur/code_completion", "x/t/chat"):
                if rng.random() < 0.8:
                    n = float(rng.integers(5, 60))
                    rows.append((o, f"{o}-u{u:02d}", f, n, float(rng.binomial(int(n), p))))
    rows += [("org-a", "org-a-u00", "zz/none", 0.0, 0.0), ("org-c", "late", "x/t/chat", 3.0, 5.0)]
    rows += [("org-b", "neg", "x/t/chat", 4.0, -1.0)]
    acc = pd.DataFrame(rows, columns=COLS).sample(frac=1.0, random_state=1)
    keys = acc[["org_id", "user_key"]].drop_duplicates().iloc[:-4]
    users = keys.assign(
        usage=rng.uniform(10, 200, len(keys)),
        incentive=np.where(rng.random(len(keys)) < 0.5, rng.uniform(0, 0.3, len(keys)), np.nan),
    )
    extra = pd.DataFrame([("org-a", "idle", 50.0, np.nan)], columns=users.columns)
    return acc.reset_index(drop=True), pd.concat([users, extra], ignore_index=True)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert list(a["org_id"]) == list(b["org_id"])
    for c in a.columns:
        if a[c].dtype.kind == "f":
            assert np.array_equal(a[c].to_numpy(float), b[c].to_numpy(float), equal_nan=True), c
        else:
            assert a[c].astype(str).equals(b[c].astype(str)), c


def test_estimate_from_codes_equals_the_string_rows():
    acc, users = _world()
    s = ax.Settings(replicates=25)
    want = ax.estimate(acc, users, s)
    _same(codes.estimate_counts(codes.frame_counts(acc), users, s), want)
    # the same rows a user bucket at a time, in another order: the same figures and draws
    bucket = acc["user_key"].map(lambda u: zlib.crc32(u.encode())) % 3
    parts = [acc[bucket == b] for b in (2, 0, 1)]
    _same(codes.estimate_counts(_coded(*parts), users, s), want)


def test_estimate_from_codes_without_rows_or_users():
    acc, users = _world()
    s = ax.Settings(replicates=5)
    none = acc.iloc[:0]
    _same(codes.estimate_counts(codes.frame_counts(none), users, s), ax.estimate(none, users, s))
    got = codes.estimate_counts(codes.frame_counts(none), users.iloc[:0], s)
    assert got.empty and list(got.columns) == list(ax.estimate(none, users.iloc[:0], s).columns)
    _same(
        codes.estimate_counts(codes.frame_counts(acc), users.iloc[:0], s),
        ax.estimate(acc, users.iloc[:0], s),
    )
