"""Debiased org theater share from the detector's output on everything plus an audit sample.

Pure numpy/pandas. The estimator (assumptions in docs/methodology.md, "Audit"):

Every interaction i of org o falls in a detector-output stratum h (:mod:`theater.audit.sample`).
The org's true share is

    theta_o = sum_h W_oh * R_oh,     W_oh = N_oh / N_o,

where R_oh is the (unknown) share of theater among the org's N_oh interactions in stratum h.
The detector gives W exactly; the audit gives R. Post-stratified by detector output, this is the
stratified estimator of survey sampling, and the audit-labelled rate in each stratum is the
"rectifier" of prediction-powered inference.

R_oh is partially pooled across orgs (empirical Bayes, beta-binomial): the org's rate in stratum
h is drawn from Beta(a_h r_h, a_h (1 - r_h)), where r_h is the pooled rate (inclusion-weighted,
Horvitz-Thompson over every org's labels) and a_h the prior strength, estimated from the spread
of the orgs' labelled rates around r_h (method of moments) and clipped to
[min_strength, max_strength]. An org with many labels in a stratum is estimated mostly from its
own labels; one with few or none borrows the pooled rate, with the between-org spread in its
interval. Interactions that were labelled count with their label (finite population).

Interval: a joint bootstrap of B replicates. Each replicate
1. re-weights the audit labels (Poisson(1) per label) and recomputes the pooled rates r*_h
   (uncertainty of the pooled precision and miss rates),
2. draws each org-stratum rate from its posterior Beta(k + a r*, n - k + a (1 - r*)) and the
   unlabelled theater count from Binomial(N - n, rate) (the org's own detector error),
3. re-weights the org's users (Poisson(1) per user, as the detector-only interval does) and
   recomputes the stratum shares W*_oh (user sampling),
and theta*_o = sum_h W*_oh R*_oh. The percentile interval at ``confidence`` is reported, widened
if needed to contain the point estimate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SAMPLING, SAMPLING_DETECTOR = "sampling", "sampling+detector"


@dataclass(frozen=True)
class Settings:
    replicates: int = 500
    confidence: float = 0.90
    seed: int = 20261130
    min_strength: float = 1.0  # prior strength a_h (pseudo-labels) bounds
    max_strength: float = 10.0
    user_bootstrap: bool = True

    @classmethod
    def from_config(cls, cfg) -> "Settings":
        a = cfg.data.get("audit") or {}
        return cls(
            replicates=int(a.get("replicates", cls.replicates)),
            confidence=float(a.get("confidence", cls.confidence)),
            seed=int(a.get("seed", cls.seed)),
            min_strength=float(a.get("min_prior_strength", cls.min_strength)),
            max_strength=float(a.get("max_prior_strength", cls.max_strength)),
            user_bootstrap=bool(a.get("user_bootstrap", cls.user_bootstrap)),
        )


@dataclass(frozen=True)
class Pooled:
    """Per stratum: pooled rate r_h, prior strength a_h, labels n_h (inclusion-weighted rate)."""

    strata: list
    rate: np.ndarray
    strength: np.ndarray
    n_labels: np.ndarray


def pooled_rates(
    labels: pd.DataFrame,
    strata: list,
    fallback: dict | None = None,
    min_strength: float = 2.0,
    max_strength: float = 100.0,
    weights: np.ndarray | None = None,
) -> Pooled:
    """Pooled rate and prior strength per stratum from the labels (``org_id, stratum, label,
    inclusion_probability``). ``weights`` (one per label) re-weights labels (bootstrap).

    Rate: Horvitz-Thompson ratio sum(w y / pi) / sum(w / pi), shrunk by half a pseudo-label
    toward 1/2 so that a stratum whose labels all agree keeps a non-degenerate prior.
    Strength: a = r (1 - r) / tau^2 - 1, tau^2 the between-org variance of the rates by
    moments, sum_o n_o [(p_o - r)^2 - r (1 - r) / n_o] / sum_o n_o (1 - 1/n_o), clipped.
    A stratum without labels takes ``fallback[h]`` (the detector's mean probability there, or
    1/2), clipped to [0.05, 0.95], with the weakest prior.
    """
    fallback = fallback or {}
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, float)
    y = labels["label"].to_numpy(float)
    ipw = 1.0 / labels["inclusion_probability"].to_numpy(float)
    st = labels["stratum"].to_numpy()
    org = labels["org_id"].to_numpy()
    rate, strength, n_lab = [], [], []
    for h in strata:
        m = (st == h) & (w > 0)
        n = float(w[m].sum())
        if n <= 0:
            # no label anywhere: the detector's own mean probability, kept off 0 and 1
            rate.append(min(max(float(fallback.get(h, 0.5)), 0.05), 0.95))
            strength.append(min_strength)
            n_lab.append(0.0)
            continue
        ht = float((w[m] * y[m] * ipw[m]).sum() / (w[m] * ipw[m]).sum())
        r = (ht * n + 0.5) / (n + 1.0)
        r = min(max(r, 1e-4), 1 - 1e-4)
        # between-org variance of the rates (method of moments)
        num = den = 0.0
        for o in np.unique(org[m]):
            mo = m & (org == o)
            n_o = float(w[mo].sum())
            if n_o < 1:
                continue
            p_o = float((w[mo] * y[mo]).sum() / n_o)
            num += n_o * ((p_o - r) ** 2 - r * (1 - r) / n_o)
            den += n_o * (1 - 1 / n_o) if n_o > 1 else 0.0
        tau2 = max(num / den, 0.0) if den > 0 else 0.0
        a = (r * (1 - r) / tau2 - 1.0) if tau2 > 0 else max_strength
        rate.append(r)
        strength.append(float(np.clip(a, min_strength, max_strength)))
        n_lab.append(n)
    return Pooled(list(strata), np.array(rate), np.array(strength), np.array(n_lab))


def _cell_counts(labels: pd.DataFrame, orgs: list, strata: list) -> tuple[np.ndarray, np.ndarray]:
    """Labels (n) and theater labels (k) per (org, stratum), as O x H arrays."""
    oi = {o: i for i, o in enumerate(orgs)}
    hi = {h: j for j, h in enumerate(strata)}
    n = np.zeros((len(orgs), len(strata)))
    k = np.zeros((len(orgs), len(strata)))
    for o, h, y in labels[["org_id", "stratum", "label"]].itertuples(index=False):
        if o in oi and h in hi:
            n[oi[o], hi[h]] += 1
            k[oi[o], hi[h]] += y
    return n, k


def estimate(
    cells: pd.DataFrame, labels: pd.DataFrame, settings: Settings = Settings()
) -> pd.DataFrame:
    """Debiased share per org with an interval covering user sampling and detector error.

    ``cells``: ``org_id, user_key, stratum, n`` (interactions) and optionally ``sum_p`` (summed
    detector probability, for the detector-only share and the fallback of unlabelled strata).
    ``labels``: ``org_id, stratum, label`` (0/1), ``inclusion_probability``; labels whose org or
    stratum has no interactions in ``cells`` are ignored.

    Returns one row per org: ``org_id, share, ci_low, ci_high`` (0-1), ``detector_share``,
    ``audit_n`` (the org's own labels), ``interval_kind``.
    """
    cells = cells[cells["n"] > 0]
    orgs = sorted(cells["org_id"].unique())
    strata = sorted(cells["stratum"].unique())
    O, H = len(orgs), len(strata)
    if O == 0:
        return pd.DataFrame(
            columns=[
                "org_id",
                "share",
                "ci_low",
                "ci_high",
                "detector_share",
                "audit_n",
                "interval_kind",
            ]
        )
    labels = labels[labels["org_id"].isin(orgs) & labels["stratum"].isin(strata)]
    # a fixed order (bootstrap weights are drawn by position), whatever order the reader gave
    order = [c for c in ("org_id", "stratum", "tool", "event_id") if c in labels]
    labels = labels.sort_values(order, kind="stable").reset_index(drop=True)
    oi = {o: i for i, o in enumerate(orgs)}
    hi = {h: j for j, h in enumerate(strata)}

    N = np.zeros((O, H))
    np.add.at(
        N,
        (cells["org_id"].map(oi).to_numpy(), cells["stratum"].map(hi).to_numpy()),
        cells["n"].to_numpy(float),
    )
    has_p = "sum_p" in cells
    fallback = {}
    if has_p:
        by_h = cells.groupby("stratum")[["sum_p", "n"]].sum()
        fallback = (by_h["sum_p"] / by_h["n"]).to_dict()
    s = settings
    pooled = pooled_rates(labels, strata, fallback, s.min_strength, s.max_strength)
    n_lab, k_lab = _cell_counts(labels, orgs, strata)
    n_lab = np.minimum(n_lab, N)
    k_lab = np.minimum(k_lab, n_lab)
    a, r = pooled.strength[None, :], pooled.rate[None, :]
    post_mean = (k_lab + a * r) / (n_lab + a)
    R_hat = np.where(N > 0, (k_lab + (N - n_lab) * post_mean) / np.maximum(N, 1), 0.0)
    W = N / N.sum(1, keepdims=True)
    share = (W * R_hat).sum(1)

    rng = np.random.default_rng(s.seed)
    B = s.replicates
    # user-level matrix per org: users x strata counts
    users = cells.groupby(["org_id", "user_key", "stratum"])["n"].sum().unstack(fill_value=0.0)
    users = users.reindex(columns=strata, fill_value=0.0)
    thetas = np.empty((B, O))
    user_blocks = {o: users.loc[o].to_numpy(float) for o in orgs}
    n_labels = len(labels)
    for b in range(B):
        wl = rng.poisson(1.0, n_labels).astype(float)
        pb = pooled_rates(labels, strata, fallback, s.min_strength, s.max_strength, wl)
        ab, rb = pooled.strength[None, :], pb.rate[None, :]
        alpha = k_lab + ab * rb
        beta = n_lab - k_lab + ab * (1 - rb)
        rate = rng.beta(alpha, beta)
        unl = rng.binomial((N - n_lab).astype(np.int64), rate)
        Rb = np.where(N > 0, (k_lab + unl) / np.maximum(N, 1), 0.0)
        if s.user_bootstrap:
            Wb = np.empty((O, H))
            for i, o in enumerate(orgs):
                blk = user_blocks[o]
                wu = rng.poisson(1.0, blk.shape[0]).astype(float)
                tot = wu @ blk
                Wb[i] = tot / tot.sum() if tot.sum() > 0 else W[i]
        else:
            Wb = W
        thetas[b] = (Wb * Rb).sum(1)
    alpha_q = (1 - s.confidence) / 2
    low = np.quantile(thetas, alpha_q, axis=0, method="inverted_cdf")
    high = np.quantile(thetas, 1 - alpha_q, axis=0, method="inverted_cdf")
    det = np.full(O, np.nan)
    if has_p:
        sp = cells.groupby("org_id")[["sum_p", "n"]].sum()
        det = (sp["sum_p"] / sp["n"]).reindex(orgs).to_numpy()
    return pd.DataFrame(
        {
            "org_id": orgs,
            "share": share,
            "ci_low": np.minimum(low, share),
            "ci_high": np.maximum(high, share),
            "detector_share": det,
            "audit_n": n_lab.sum(1).astype(int),
            "interval_kind": SAMPLING_DETECTOR,
        }
    )


def audited_rates(labels: pd.DataFrame, flagged: str = "flagged") -> dict:
    """Audited precision and recall of the detector's ``is_theater`` (column ``flagged``), by
    Horvitz-Thompson over the stratified labels; None when there is nothing to estimate."""
    if labels.empty:
        return {"precision": None, "recall": None, "n": 0}
    y = labels["label"].to_numpy(float)
    f = labels[flagged].to_numpy(bool)
    ipw = 1.0 / labels["inclusion_probability"].to_numpy(float)
    tp = float((ipw * y * f).sum())
    flagged_w = float((ipw * f).sum())
    pos = float((ipw * y).sum())
    return {
        "precision": tp / flagged_w if flagged_w > 0 else None,
        "recall": tp / pos if pos > 0 else None,
        "n": int(len(labels)),
    }


def signal_precision(labels: pd.DataFrame, names) -> dict:
    """Audited precision of each signal: inclusion-weighted share of theater among labelled
    interactions where it fired (``signals`` column: list or comma-joined names)."""
    out = {}
    sig = labels["signals"].map(lambda v: set(v.split(",")) if isinstance(v, str) else set(v or []))
    y = labels["label"].to_numpy(float)
    ipw = 1.0 / labels["inclusion_probability"].to_numpy(float)
    for name in names:
        m = sig.map(lambda s: name in s).to_numpy(bool)
        if m.any():
            out[name] = float((ipw[m] * y[m]).sum() / ipw[m].sum())
    return out
