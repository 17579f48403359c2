"""The acceptance counts collected a user bucket at a time, as integer codes.

:func:`acceptance_excess.acceptance_counts` in one plan aggregates every (org, user, feature)
of the period at once: the engine's aggregate holds all of them (2.7 million at 50M, about 2.2
GB above the process's base), and the collected frame one Python reference per cell. Here the
engine aggregates one user bucket's events at a time (:func:`collect_counts`), and each part
is turned into integer codes as it arrives, so that the driver holds a few numbers per row and
each identifier once. The reporting filter (an (org, feature) pair counts only where some of
the org's events of the feature carry a disposition) reads every user of the org, so it is
applied to the collected rows, as are the final sums per (org, user, feature): counts of whole
outputs summed in doubles are exact in any order, so the rows equal the one plan's.

:func:`estimate_counts` is :func:`acceptance_excess.estimate` of those rows: the same rows in
the same order, so the same figures and the same bootstrap draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .acceptance_excess import (
    COLUMNS,
    Settings,
    _estimate,
    _Frame,
    event_counts,
    frame_of,
    user_day_counts,
)


@dataclass
class Counts:
    """Per (org, user, feature) ``n`` and ``k`` (:func:`acceptance_excess.acceptance_counts`),
    one row per key: ``row_user`` indexes ``user_org`` / ``user_key``, ``row_feature`` indexes
    ``features``, ``user_org`` indexes ``orgs`` (codes in order of arrival, not sorted)."""

    orgs: list
    features: list
    user_org: np.ndarray
    user_key: np.ndarray
    row_user: np.ndarray
    row_feature: np.ndarray
    n: np.ndarray
    k: np.ndarray

    def frame(self) -> pd.DataFrame:
        """The rows as (org_id, user_key, feature, n, k) strings and counts."""
        orgs = np.array(self.orgs, dtype=object)
        return pd.DataFrame(
            {
                "org_id": orgs[self.user_org[self.row_user]],
                "user_key": self.user_key[self.row_user],
                "feature": np.array(self.features, dtype=object)[self.row_feature],
                "n": self.n,
                "k": self.k,
            }
        )


class _Coder:
    """Parts of (org_id, user_key, feature, n, k[, _reported]) rows turned into codes."""

    def __init__(self):
        self.orgs: dict = {}
        self.features: dict = {}
        self.users: dict = {}  # (org code, user_key) -> user code
        self.user_org: list[int] = []
        self.user_key: list = []
        self.parts: list[tuple] = []

    @staticmethod
    def _codes(table: dict, values) -> np.ndarray:
        local, uniq = pd.factorize(values)
        known = np.array([table.setdefault(v, len(table)) for v in uniq], dtype=np.int64)
        return known[local] if len(local) else np.zeros(0, dtype=np.int64)

    def add(self, part: pd.DataFrame) -> None:
        """One part's rows; ``_reported`` (events: 1 where some of them carry a disposition)
        absent: user-day rows, always kept."""
        if part.empty:
            return
        org = self._codes(self.orgs, part["org_id"].to_numpy(object))
        local, uniq = pd.factorize(pd.MultiIndex.from_arrays([org, part["user_key"]]))
        codes = np.empty(len(uniq), dtype=np.int64)
        for i, (o, u) in enumerate(uniq):
            c = self.users.get((o, u))
            if c is None:
                c = self.users[(o, u)] = len(self.user_org)
                self.user_org.append(o)
                self.user_key.append(u)
            codes[i] = c
        reported = (
            part["_reported"].to_numpy(float) if "_reported" in part else np.full(len(part), np.nan)
        )
        self.parts.append(
            (
                codes[local],
                self._codes(self.features, part["feature"].to_numpy(object)),
                part["n"].to_numpy(float),
                part["k"].to_numpy(float),
                reported,
            )
        )

    def finish(self) -> Counts:
        """The reporting filter over every part, then one row per (org, user, feature)."""
        cols = [np.concatenate(c) if c else np.zeros(0) for c in zip(*self.parts)] or [
            np.zeros(0)
        ] * 5
        user, feature, n, k, rep = cols
        user, feature = user.astype(np.int64), feature.astype(np.int64)
        user_org = np.array(self.user_org, dtype=np.int64)
        nf = max(len(self.features), 1)
        pair = user_org[user] * nf + feature
        event = ~np.isnan(rep)
        ok = np.zeros(max(len(self.orgs), 1) * nf, dtype=bool)
        ok[pair[event & (rep > 0)]] = True
        keep = (~event | ok[pair]) & (n > 0)
        key = user[keep] * nf + feature[keep]
        uniq, inv = np.unique(key, return_inverse=True)
        return Counts(
            list(self.orgs),
            list(self.features),
            user_org,
            np.array(self.user_key, dtype=object),
            uniq // nf,
            uniq % nf,
            np.bincount(inv, weights=n[keep], minlength=len(uniq)),
            np.bincount(inv, weights=k[keep], minlength=len(uniq)),
        )


def collect_counts(parts: Iterable[tuple[DataFrame | None, DataFrame | None]]) -> Counts:
    """The rows of :func:`acceptance_excess.acceptance_counts` over ``parts``: (user_days or
    None, events or None) per user bucket, every (org, user) in one part, aggregated by the engine a
    part at a time and collected as codes."""
    coder = _Coder()
    for user_days, events in parts:
        if events is not None:
            coder.add(event_counts(events).toPandas())
        if user_days is not None:
            summed = (
                user_day_counts(user_days)
                .where(F.col("n") > 0)
                .groupBy("org_id", "user_key", "feature")
                .agg(F.sum("n").alias("n"), F.sum("k").alias("k"))
            )
            coder.add(summed.toPandas())
    return coder.finish()


def frame_counts(acc: pd.DataFrame) -> Counts:
    """:class:`Counts` of collected (org_id, user_key, feature, n, k) rows, as they are."""
    coder = _Coder()
    coder.add(acc[["org_id", "user_key", "feature", "n", "k"]])
    return coder.finish()


def estimate_counts(c: Counts, users: pd.DataFrame, s: Settings | None = None) -> pd.DataFrame:
    """:func:`acceptance_excess.estimate` of ``c`` and ``users`` (org_id, user_key, usage,
    incentive): the same rows, sorted by (org_id, user_key, feature) as it sorts them, and
    the same users, sorted by (org_id, user_key), so the same figures and draws."""
    s = s or Settings()
    fr = coded_frame(c, users)
    if fr is None:
        return pd.DataFrame(columns=COLUMNS)
    return _estimate(fr, s)


def coded_frame(c: Counts, users: pd.DataFrame) -> _Frame | None:
    """What ``acceptance_excess._frame`` builds from the sorted string rows, from the codes:
    the users (of the rows and of ``users``) in (org_id, user_key) order, the rows in
    (user, feature) order, the feature codes in the order of their sorted names. None: no
    row and no user."""
    live = c.n > 0
    if not live.any() and users.empty:
        return None
    row_user, row_feature, n = c.row_user[live], c.row_feature[live], c.n[live]
    k = np.minimum(np.clip(c.k[live], 0, None), n)
    seen = np.unique(row_user)
    orgs = np.array(c.orgs, dtype=object)
    mine = pd.DataFrame({"org_id": orgs[c.user_org[seen]], "user_key": c.user_key[seen]})
    keys = (
        pd.concat([mine, users[["org_id", "user_key"]]], ignore_index=True)
        .drop_duplicates()
        .sort_values(["org_id", "user_key"], kind="stable")
        .reset_index(drop=True)
    )
    keys["_u"] = np.arange(len(keys))
    pos = np.full(len(c.user_org), -1, dtype=np.int64)
    pos[seen] = mine.merge(keys, on=["org_id", "user_key"], how="left")["_u"].to_numpy(int)
    present = np.unique(row_feature)
    names = np.array(sorted(c.features[f] for f in present), dtype=object)
    where = {f: i for i, f in enumerate(names)}
    rank = np.zeros(len(c.features), dtype=np.int64)
    rank[present] = [where[c.features[f]] for f in present]
    order = np.lexsort((rank[row_feature], pos[row_user]))
    rows = (pos[row_user][order], rank[row_feature][order], n[order], k[order])
    return frame_of(keys, users, rows, names)
