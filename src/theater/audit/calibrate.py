"""Calibrate ``theater_probability`` from audit labels.

Method: histogram binning by detector output. The calibrated probability of an interaction is
the audited theater rate of its detector-output stratum (:mod:`theater.audit.sample`): the
inclusion-weighted (Horvitz-Thompson) share of labels that are theater, pooled over orgs, with
half a pseudo-label toward 1/2 (:func:`theater.audit.estimate.pooled_rates`). The detector's
probability is a noisy-OR of binary flags, so it takes few distinct values and a bin per
detector output is the natural, monotone-free recalibration (isotonic regression on it would
merge bins without gaining resolution).

Under either sample design (:mod:`theater.audit.design`) the bins are the detector outputs: a
label drawn in the grouped design's ``flagged`` stratum counts in the bin of the signals that
fired on it, weighted by its own inclusion probability (a domain estimate), and a flagged
detector output that no label saw takes the rate of all flagged labels when the labels hold
the grouped design (else it keeps the detector's value, as before).

Check: the reliability slope, the inclusion-weighted least-squares slope of the label on the
calibrated probability, on held-out labels (K-fold cross-fitting: each fold is predicted by the
mapping fitted on the other folds). 1 is perfect; below 1 the probabilities are too extreme.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .design import output_strata
from .estimate import pooled_rates
from .sample import FLAGGED, NONE


def fit(labels: pd.DataFrame) -> dict:
    """Detector output -> calibrated probability, from ``stratum, label,
    inclusion_probability, org_id`` rows (and ``signals``, the signals that fired: the bin of
    a label whose stratum is a design one); ``flagged`` -> the rate of all flagged labels when
    a label was drawn in the grouped design's ``flagged`` stratum."""
    lab = output_strata(labels)
    strata = sorted(lab["stratum"].dropna().unique())
    pooled = pooled_rates(lab, strata)
    out = {h: float(r) for h, r in zip(pooled.strata, pooled.rate) if h != FLAGGED}
    if (lab["design_stratum"].astype(str) == FLAGGED).any():
        flagged = lab.assign(stratum=np.where(lab["stratum"].astype(str) == NONE, NONE, FLAGGED))
        out[FLAGGED] = float(pooled_rates(flagged, [FLAGGED]).rate[0])
    return out


def slope(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Weighted least-squares (slope, intercept) of ``y`` on ``p``; NaN when p is constant."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    mp, my = np.average(p, weights=w), np.average(y, weights=w)
    var = np.average((p - mp) ** 2, weights=w)
    if var <= 0:
        return float("nan"), float("nan")
    b = np.average((p - mp) * (y - my), weights=w) / var
    return float(b), float(my - b * mp)


def held_out(labels: pd.DataFrame, folds: int = 5, seed: int = 0) -> dict:
    """Reliability of the calibration on held-out labels (K-fold cross-fitting).

    Returns ``slope``, ``intercept``, ``n`` and, when ``theater_probability`` (raw detector
    output) is a column, ``raw_slope`` and ``raw_intercept`` for comparison.
    """
    n = len(labels)
    if n < 2 * folds:
        return {"slope": None, "intercept": None, "n": n}
    rng = np.random.default_rng(seed)
    fold = rng.permutation(np.arange(n) % folds)
    pred = np.empty(n)
    lab = output_strata(labels).reset_index(drop=True)
    for k in range(folds):
        train, test = lab[fold != k], lab[fold == k]
        mapping = fit(train)
        default = float(np.average(train["label"], weights=1 / train["inclusion_probability"]))
        flagged = mapping.get(FLAGGED, default)
        miss = test["stratum"].map(lambda h: flagged if h != NONE else default)
        pred[fold == k] = test["stratum"].map(mapping).fillna(miss).to_numpy(float)
    w = 1.0 / lab["inclusion_probability"].to_numpy(float)
    b, a = slope(lab["label"].to_numpy(float), pred, w)
    out = {"slope": b, "intercept": a, "n": n}
    if "theater_probability" in lab:
        rb, ra = slope(lab["label"].to_numpy(float), lab["theater_probability"].to_numpy(float), w)
        out.update(raw_slope=rb, raw_intercept=ra)
    return out


def stratum_column():
    """Spark column: the detector-output stratum from ``flags`` (same rule as
    :func:`theater.audit.sample.stratum_of`)."""
    from pyspark.sql import functions as F

    n = F.size(F.coalesce(F.col("flags"), F.array().cast("array<string>")))
    return (
        F.when(n == 0, F.lit("none"))
        .when(n == 1, F.col("flags").getItem(0))
        .otherwise(F.lit("multi"))
    )


def apply(labels, mapping: dict, threshold: float):
    """Replace ``theater_probability`` by the calibrated rate of each interaction's stratum
    (a flagged stratum the audit never saw takes the ``flagged`` rate where the mapping has
    one, else keeps the detector's value, as does ``none`` unseen) and recompute
    ``is_theater``."""
    from pyspark.sql import functions as F

    if not mapping:
        return labels
    lit_map = F.create_map(
        *[x for h, r in sorted(mapping.items()) for x in (F.lit(h), F.lit(float(r)))]
    )
    st = stratum_column()
    parts = [F.element_at(lit_map, st)]
    if FLAGGED in mapping:
        parts.append(F.when(st != F.lit(NONE), F.lit(float(mapping[FLAGGED]))))
    p = F.coalesce(*parts, F.col("theater_probability"))
    return labels.withColumn("theater_probability", p).withColumn(
        "is_theater", F.col("theater_probability") >= F.lit(threshold)
    )
