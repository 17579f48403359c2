"""The audit sample's design, and what the score stage and the plan read from it.

Two designs (``theater audit sample --design``):

- ``signal``: strata org x detector output (``none``, one per signal, ``multi``;
  :func:`theater.audit.sample.stratum_of`);
- ``grouped``: strata org x ``none`` / ``flagged`` (any signal fired). With the floor of labels
  per cell, an org's ~5 detector-output cells take most of a small budget, most of it in small
  flagged cells, while the unflagged cell gets few; two cells leave it about twice as many.
  That pays where the signals' precisions are alike: on simulated worlds it gave 7-20%
  narrower intervals at 15 labels an org. Where they differ, stratifying by signal pays more:
  with the project's detector on family-B worlds (signals of precision 0.14 to 0.73) the
  grouped design was wider at 5, 15 and 50 labels an org, by about a tenth to a fifth on
  average (benchmarks/RESULTS.md). So ``signal`` is the default and ``grouped`` an option.

The design travels with the labels in their ``stratum``: the design strata are written to the
reviewer's CSV, loaded into ops/audit_labels as they are, and ``flagged`` exists only under the
grouped design (``none`` is the same cell, with the same inclusion probability, under both).
So the score stage reads each org's design from its labels (:func:`org_designs`) and builds
that org's cells the same way (:func:`align`); the calibration of the detector's probability
reads the labels by detector output (:func:`output_strata`), a domain estimate that is valid
under either design because every label carries its own inclusion probability.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .sample import FLAGGED, NONE, grouped, strata

log = logging.getLogger(__name__)

SIGNAL, GROUPED = "signal", "grouped"
DESIGNS = (SIGNAL, GROUPED)


def check(design: str) -> str:
    """``design`` when it is one of ``DESIGNS``; else a ValueError naming them."""
    if design not in DESIGNS:
        raise ValueError(f"audit design must be one of {', '.join(DESIGNS)}; got {design!r}")
    return design


def design_strata(stratum: pd.Series, design: str) -> pd.Series:
    """The design strata of interactions whose detector-output strata are ``stratum``."""
    return grouped(stratum) if check(design) == GROUPED else stratum


def org_designs(labels: pd.DataFrame) -> dict:
    """Each labelled org's design, from its labels' strata: ``grouped`` when any of its labels
    is in the ``flagged`` stratum, or when the period's labels hold such a stratum and none of
    the org's labels is in a per-signal one (an org whose grouped labels all fell in ``none``);
    else ``signal``."""
    if labels is None or labels.empty:
        return {}
    st = labels["stratum"].astype(str)
    any_grouped = bool((st == FLAGGED).any())
    out = {}
    for org, s in st.groupby(labels["org_id"]):
        has_flagged = bool((s == FLAGGED).any())
        has_signal = bool((~s.isin([NONE, FLAGGED])).any())
        if has_flagged and has_signal:
            log.warning(
                "audit labels of org %s come from both designs (per signal and grouped): "
                "its estimate uses the grouped strata, each label weighted by its own "
                "inclusion probability",
                org,
            )
        out[org] = GROUPED if has_flagged or (any_grouped and not has_signal) else SIGNAL
    return out


def align(cells: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(cells, labels)`` with every grouped org's cells and labels in the grouped strata, the
    other orgs' as they are (detector output). ``cells`` are the score stage's (``org_id,
    stratum`` by detector output, ``n``, ``sum_p``, ...), ``labels`` the audit labels in their
    design strata. The estimator then reads each org under the design its labels were drawn
    under."""
    designs = org_designs(labels)
    g = [o for o, d in designs.items() if d == GROUPED]
    if not g:
        return cells, labels
    cells = cells.copy()
    m = cells["org_id"].isin(g).to_numpy()
    cells.loc[m, "stratum"] = grouped(cells.loc[m, "stratum"]).to_numpy()
    labels = labels.copy()
    lm = labels["org_id"].isin(g).to_numpy()
    labels.loc[lm, "stratum"] = grouped(labels.loc[lm, "stratum"].astype(str)).to_numpy()
    return cells, labels


def output_strata(labels: pd.DataFrame) -> pd.DataFrame:
    """``labels`` with ``stratum`` the detector output of each labelled interaction (from
    ``signals``, the signals that fired, where known) instead of its design stratum; the
    design stratum is kept in ``design_stratum``. A label without ``signals`` keeps its
    stratum."""
    kept = labels["design_stratum"] if "design_stratum" in labels else labels["stratum"]
    out = labels.assign(design_stratum=kept)
    if "signals" not in out:
        return out
    known = out["signals"].notna().to_numpy()
    if known.any():
        st = out["stratum"].astype(object).to_numpy().copy()
        st[known] = strata(out.loc[known, "signals"]).to_numpy()
        out["stratum"] = st
    return out


def flagged_rate(labels: pd.DataFrame) -> float | None:
    """Inclusion-weighted theater share of the labels where a signal fired (any design), or
    None without such labels: the calibration's rate for a flagged detector output the audit
    did not see."""
    m = (labels["stratum"].astype(str) != NONE).to_numpy()
    if not m.any():
        return None
    w = 1.0 / labels.loc[m, "inclusion_probability"].to_numpy(float)
    y = labels.loc[m, "label"].to_numpy(float)
    return float(np.sum(w * y) / np.sum(w))
