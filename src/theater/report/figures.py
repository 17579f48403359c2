"""Pure functions: report figures from DataFrames (no I/O, no Spark).

Conventions: the theater index and shares are percentages (0-100); an org is *published* when
it is not suppressed and has an index. Every company-level figure covers the published orgs
only, so that no suppressed org's figures can be recovered by subtraction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

SIGNAL_LABELS = {
    "unused_output": "Unused output",
    "self_summary": "Self-summary",
    "repeat_prompt": "Repeat prompt",
    "fragmentation": "Fragmentation",
    "padding": "Padding",
    "quota_bunching": "Quota bunching",
    "checkpoint_burst": "Checkpoint burst",
}
INCENTIVE_SIGNALS = ("quota_bunching", "checkpoint_burst")


def signal_label(name: str) -> str:
    return SIGNAL_LABELS.get(name, name.replace("_", " ").capitalize())


def signal_names(index: pd.DataFrame) -> list[str]:
    """Signal names from the ``signal_<name>`` columns (``signal_coverage`` is not a signal)."""
    return [c[len("signal_"):] for c in index.columns
            if c.startswith("signal_") and c != "signal_coverage"]


def published(index: pd.DataFrame) -> pd.DataFrame:
    keep = ~index["suppressed"].astype(bool) & index["theater_index"].notna()
    return index[keep]


def _bool(v) -> bool | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    return bool(v)


# ----------------------------------------------------------------------------- headline
@dataclass(frozen=True)
class Share:
    """Company-level theater share (percent) with its interval."""

    value: float | None
    low: float | None
    high: float | None
    n_orgs: int
    n_interactions: int
    n_users: int             # distinct (anonymous) users behind the interval, 0 if unknown
    replicates: int
    confidence: float


def bootstrap_interval(n: np.ndarray, s: np.ndarray, *, replicates: int, confidence: float,
                       seed: int) -> tuple[float, float] | None:
    """User-clustered Poisson bootstrap of ``sum(s) / sum(n)`` (percent).

    ``n``: interactions per user; ``s``: summed theater probability per user. Each replicate
    draws a Poisson(1) weight per user; the percentile interval of the replicate shares is
    returned. Replicates are drawn in chunks so that memory stays bounded for many users.
    """
    n = np.asarray(n, dtype=float)
    s = np.asarray(s, dtype=float)
    if len(n) == 0 or n.sum() <= 0:
        return None
    rng = np.random.default_rng(seed)
    chunk = max(1, min(replicates, 4_000_000 // max(len(n), 1)))
    shares: list[np.ndarray] = []
    left = replicates
    while left > 0:
        k = min(chunk, left)
        w = rng.poisson(1.0, size=(k, len(n))).astype(float)
        den = w @ n
        ok = den > 0
        shares.append((w[ok] @ s) / den[ok])
        left -= k
    all_ = np.concatenate(shares)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(all_, [alpha, 1.0 - alpha])
    return float(lo * 100), float(hi * 100)


def company_share(index: pd.DataFrame, user_weeks: pd.DataFrame | None = None, *,
                  confidence: float = 0.90, replicates: int = 2000, seed: int = 20260701
                  ) -> Share:
    """Interaction-weighted theater share over the published orgs, with a user-clustered
    bootstrap interval.

    Point estimate: sum over published orgs of (index x interactions) / their interactions, i.e.
    the mean theater probability of every interaction in a published org (the same definition
    as an org's index, pooled). Interval: the user-clustered Poisson bootstrap of that pooled
    mean, from ``gold/user_weeks`` (users are the clusters; a user active in two orgs is one
    cluster). The interval is widened, if needed, to contain the point (as the org intervals
    are). Without user-weeks there is no interval.
    """
    pub = published(index)
    n_total = int(pub["n_interactions"].sum()) if len(pub) else 0
    if n_total == 0:
        return Share(None, None, None, len(pub), 0, 0, replicates, confidence)
    value = float((pub["theater_index"] * pub["n_interactions"]).sum() / n_total)
    low = high = None
    n_users = 0
    if user_weeks is not None and len(user_weeks):
        uw = user_weeks[user_weeks["org_id"].isin(set(pub["org_id"]))]
        per_user = uw.groupby("user").agg(n=("n_interactions", "sum"),
                                          s=("theater_interactions", "sum"))
        n_users = len(per_user)
        ci = bootstrap_interval(per_user["n"].to_numpy(), per_user["s"].to_numpy(),
                                replicates=replicates, confidence=confidence, seed=seed)
        if ci is not None:
            low, high = min(ci[0], value), max(ci[1], value)
    return Share(value, low, high, len(pub), n_total, n_users, replicates, confidence)


@dataclass(frozen=True)
class UsageChange:
    interactions: int            # this period, published orgs
    per_day: float
    previous_label: str | None
    change: float | None         # relative change of interactions per day, same orgs (0.08 = +8%)
    n_same_orgs: int
    same_now_per_day: float | None
    same_prev_per_day: float | None


def usage_change(index: pd.DataFrame, previous: pd.DataFrame, days_now: int, days_prev: int,
                 previous_label: str | None) -> UsageChange:
    """Usage this period (published orgs) and its change in interactions per day against the
    previous period, like for like: only orgs published in both periods."""
    pub = published(index)
    total = int(pub["n_interactions"].sum())
    per_day = total / max(days_now, 1)
    prev_pub = published(previous) if previous is not None and len(previous) else None
    if prev_pub is None or prev_pub.empty:
        return UsageChange(total, per_day, None, None, 0, None, None)
    same = sorted(set(pub["org_id"]) & set(prev_pub["org_id"]))
    if not same:
        return UsageChange(total, per_day, previous_label, None, 0, None, None)
    now = pub[pub["org_id"].isin(same)]["n_interactions"].sum() / max(days_now, 1)
    before = prev_pub[prev_pub["org_id"].isin(same)]["n_interactions"].sum() / max(days_prev, 1)
    change = (now - before) / before if before > 0 else None
    return UsageChange(total, per_day, previous_label, change, len(same), float(now),
                       float(before))


@dataclass(frozen=True)
class Decoupling:
    n_published: int
    n_measured: int
    n_decoupled: int
    orgs: tuple[str, ...]

    @property
    def share(self) -> float | None:
        return self.n_decoupled / self.n_measured if self.n_measured else None


def decoupling_summary(index: pd.DataFrame) -> Decoupling:
    """Published orgs where outcome decoupling could be measured, and where usage rose without
    outcomes following (``decoupled``)."""
    pub = published(index)
    if "decoupled" not in pub:
        return Decoupling(len(pub), 0, 0, ())
    flags = pub["decoupled"].map(_bool)
    measured = flags.notna()
    dec = pub[flags.eq(True)]
    return Decoupling(len(pub), int(measured.sum()), len(dec), tuple(sorted(dec["org_id"])))


@dataclass(frozen=True)
class Coverage:
    n_orgs: int
    n_published: int
    n_suppressed: int
    signal_coverage: float | None    # mean share of signals measurable, published orgs (0-1)


def coverage_summary(index: pd.DataFrame) -> Coverage:
    pub = published(index)
    cov = pub["signal_coverage"].dropna() if "signal_coverage" in pub else pd.Series(dtype=float)
    return Coverage(len(index), len(pub), len(index) - len(pub),
                    float(cov.mean()) if len(cov) else None)


@dataclass(frozen=True)
class Quality:
    total: int
    passed: int
    warnings: int           # warning-severity expectations that did not pass
    failed: int             # critical expectations that did not pass
    by_table: pd.DataFrame  # table, checks, passed, warnings, failed


def dq_summary(dq: pd.DataFrame) -> Quality:
    cols = ["table", "checks", "passed", "warnings", "failed"]
    if dq is None or dq.empty:
        return Quality(0, 0, 0, 0, pd.DataFrame(columns=cols))
    d = dq.copy()
    d["ok"] = d["success"].astype(bool)
    d["warn"] = ~d["ok"] & (d["severity"] != "critical")
    d["fail"] = ~d["ok"] & (d["severity"] == "critical")
    by = (d.groupby("table_name")
          .agg(checks=("ok", "size"), passed=("ok", "sum"), warnings=("warn", "sum"),
               failed=("fail", "sum"))
          .reset_index().rename(columns={"table_name": "table"}))
    by[["checks", "passed", "warnings", "failed"]] = by[
        ["checks", "passed", "warnings", "failed"]].astype(int)
    return Quality(len(d), int(d["ok"].sum()), int(d["warn"].sum()), int(d["fail"].sum()),
                   by[cols].sort_values("table").reset_index(drop=True))


# ----------------------------------------------------------------------------- org table
ORG_COLUMNS = ["org_id", "suppressed", "theater_index", "ci_low", "ci_high", "n_users",
               "n_interactions", "per_user_week", "top_signals", "decoupled",
               "usage_change", "outcome_change", "outcome_decoupling",
               "outcome_decoupling_low", "outcome_decoupling_high",
               "high_confidence_theater", "rank_low", "rank_high", "previous_index",
               "change", "change_clear"]
FIGURES = ORG_COLUMNS[2:]     # blanked for suppressed orgs


def org_table(index: pd.DataFrame, previous: pd.DataFrame | None, days_now: int) -> pd.DataFrame:
    """One row per org, published orgs by index (highest first), then suppressed orgs by id.

    Suppressed orgs keep only ``org_id`` and ``suppressed``: every figure is blanked (None),
    whatever the gold row holds. ``change`` is the index change in points against the previous
    period (published there too); ``change_clear`` is True when the two intervals do not
    overlap (a change larger than the noise).
    """
    weeks = max(days_now, 1) / 7.0
    prev = published(previous).set_index("org_id") if previous is not None and len(previous) \
        else pd.DataFrame()
    rows = []
    for r in index.to_dict("records"):
        out = {c: None for c in ORG_COLUMNS}
        out["org_id"] = r["org_id"]
        sup = bool(r["suppressed"]) or r.get("theater_index") is None or \
            pd.isna(r.get("theater_index"))
        out["suppressed"] = sup
        if not sup:
            for c in ("theater_index", "ci_low", "ci_high", "n_users", "n_interactions",
                      "usage_change", "outcome_change", "outcome_decoupling", "outcome_decoupling_low", "outcome_decoupling_high",
                      "rank_low", "rank_high"):
                v = r.get(c)
                out[c] = None if v is None or pd.isna(v) else v
            out["per_user_week"] = r["n_interactions"] / r["n_users"] / weeks \
                if r.get("n_users") else None
            top = r.get("top_signals")
            out["top_signals"] = [str(x) for x in top] if top is not None else []
            out["decoupled"] = _bool(r.get("decoupled"))
            out["high_confidence_theater"] = bool(_bool(r.get("high_confidence_theater")))
            if r["org_id"] in prev.index:
                p = prev.loc[r["org_id"]]
                out["previous_index"] = float(p["theater_index"])
                out["change"] = float(r["theater_index"]) - float(p["theater_index"])
                out["change_clear"] = bool(r["ci_low"] > p["ci_high"] or
                                           r["ci_high"] < p["ci_low"])
        rows.append(out)
    df = pd.DataFrame(rows, columns=ORG_COLUMNS)
    df["_key"] = df["theater_index"].astype(float).fillna(-1.0)
    df = df.sort_values(["suppressed", "_key", "org_id"], ascending=[True, False, True])
    return df.drop(columns="_key").reset_index(drop=True)


# ----------------------------------------------------------------------------- charts' data
QUADRANTS = {
    (True, True): "Adoption theater",
    (True, False): "Real adoption",
    (False, True): "Token compliance",
    (False, False): "Light, genuine use",
}
QUADRANT_HINTS = {
    "Adoption theater": "heavy use, much of it performative",
    "Real adoption": "heavy use, mostly genuine",
    "Token compliance": "light use, much of it performative",
    "Light, genuine use": "light use, mostly genuine",
}


@dataclass(frozen=True)
class Quadrant:
    points: pd.DataFrame     # org_id, usage (interactions per user a week), theater_index,
    #                          decoupled, quadrant
    usage_split: float       # median usage intensity of the published orgs
    index_split: float       # the company-level theater share


def quadrant(table: pd.DataFrame, company: float) -> Quadrant:
    """Usage intensity against theater share, split at the median intensity and the company
    share; each published org gets its quadrant's name."""
    pub = table[~table["suppressed"]].copy()
    pts = pub[["org_id", "per_user_week", "theater_index", "decoupled"]].rename(
        columns={"per_user_week": "usage"})
    pts["usage"] = pts["usage"].astype(float)
    pts["theater_index"] = pts["theater_index"].astype(float)
    split = float(pts["usage"].median()) if len(pts) else 0.0
    pts["quadrant"] = [QUADRANTS[(u >= split, i >= company)]
                       for u, i in zip(pts["usage"], pts["theater_index"])]
    return Quadrant(pts.reset_index(drop=True), split, float(company))


def weekly_trend(user_weeks: pd.DataFrame, orgs, start: date, end: date) -> pd.DataFrame:
    """Per ISO week (published orgs): interactions, interactions per day inside the period
    (partial weeks at the edges are scaled by their days), and the theater share (percent)."""
    cols = ["week_start", "days", "partial", "n_interactions", "per_day", "theater_share"]
    uw = user_weeks[user_weeks["org_id"].isin(set(orgs))]
    if uw.empty:
        return pd.DataFrame(columns=cols)
    wk = (uw.groupby("week_start")
          .agg(n_interactions=("n_interactions", "sum"), s=("theater_interactions", "sum"))
          .reset_index().sort_values("week_start"))
    wk["week_start"] = [d if isinstance(d, date) else pd.Timestamp(d).date()
                        for d in wk["week_start"]]
    wk["days"] = [max(0, (min(w + timedelta(days=7), end) - max(w, start)).days)
                  for w in wk["week_start"]]
    wk["partial"] = wk["days"] < 7
    wk["per_day"] = wk["n_interactions"] / wk["days"].clip(lower=1)
    wk["theater_share"] = 100.0 * wk["s"] / wk["n_interactions"]
    wk["n_interactions"] = wk["n_interactions"].astype(int)
    return wk[cols].reset_index(drop=True)


MARKER_KINDS = {"checkpoint": "Review checkpoint", "quota": "Usage quota starts or changes",
                "mandate": "AI mandate announced"}


def policy_markers(policies: pd.DataFrame, orgs, start: date, end: date) -> pd.DataFrame:
    """Quota, checkpoint and mandate dates inside the period, for company-wide (``*``) policies
    and the published orgs (suppressed orgs are left out)."""
    cols = ["date", "kind", "org_id", "company_wide", "label"]
    if policies is None or policies.empty:
        return pd.DataFrame(columns=cols)
    keep = set(orgs) | {"*"}
    rows = []
    for r in policies.to_dict("records"):
        kind, org = r.get("kind"), r.get("org_id")
        d = r.get("start_date")
        if kind not in MARKER_KINDS or org not in keep or d is None or pd.isna(d):
            continue
        d = d if isinstance(d, date) else pd.Timestamp(d).date()
        if not (start <= d < end):
            continue
        who = "company-wide" if org == "*" else org
        what = MARKER_KINDS[kind]
        if kind == "quota" and r.get("weekly_quota") is not None and not pd.isna(
                r.get("weekly_quota")):
            what = f"quota {int(r['weekly_quota'])} interactions a week"
        elif kind == "checkpoint":
            what = "review checkpoint"
        elif kind == "mandate":
            what = "AI mandate"
        rows.append({"date": d, "kind": kind, "org_id": org, "company_wide": org == "*",
                     "label": f"{d:%d %b}: {what} ({who})"})
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["date", "kind", "org_id"]).reset_index(drop=True)


def drivers(index: pd.DataFrame) -> pd.DataFrame:
    """Per signal, over the published orgs: the share of *all* their interactions it flagged
    (percent; for the incentive signals the summed weight), where an org in which the signal
    could not be measured contributes nothing, as it contributes nothing to the index; in how
    many orgs it could be measured, and in how many it is among the top signals."""
    pub = published(index)
    total = float(pub["n_interactions"].sum()) if len(pub) else 0.0
    rows = []
    for name in signal_names(index):
        col = pub[f"signal_{name}"].astype(float)
        measured = col.notna()
        w = pub.loc[measured, "n_interactions"].astype(float)
        share = (float((col[measured] * w).sum() / total * 100)
                 if total > 0 and measured.any() else None)
        top = sum(1 for t in pub.get("top_signals", []) if t is not None and name in list(t))
        rows.append({"signal": name, "label": signal_label(name), "share": share,
                     "n_measured": int(measured.sum()), "n_orgs": len(pub), "n_top": top,
                     "incentive": name in INCENTIVE_SIGNALS})
    df = pd.DataFrame(rows, columns=["signal", "label", "share", "n_measured", "n_orgs",
                                     "n_top", "incentive"])
    df["_k"] = df["share"].astype(float).fillna(-1)
    return df.sort_values(["_k", "signal"], ascending=[False, True]).drop(columns="_k") \
        .reset_index(drop=True)


def signal_matrix(index: pd.DataFrame, order) -> pd.DataFrame:
    """Published orgs x signals (percent, NaN = not measurable), in the given org order."""
    pub = published(index).set_index("org_id")
    names = signal_names(index)
    m = pub[[f"signal_{n}" for n in names]].astype(float) * 100
    m.columns = names
    return m.reindex([o for o in order if o in m.index])
