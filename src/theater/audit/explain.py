"""What the interval means, in one plain sentence (CLI table and report), and the audited
precision and recall over every audit in the lake (read with delta-rs/pyarrow, no Spark)."""

from __future__ import annotations

import pandas as pd

from ..tables import read_table
from .estimate import SAMPLING_DETECTOR, audited_rates
from .labels import TABLE
from .pool import MIN_ORGS


def lake_rates(lake_root: str) -> dict | None:
    """Audited precision and recall of "any signal fired" over all of ops/audit_labels (HT
    weights), or None when the lake holds no audit."""
    t = read_table(str(lake_root), TABLE, columns=["stratum", "label", "inclusion_probability"])
    if t is None or t.rows.empty:
        return None
    a = t.rows
    return audited_rates(a.assign(flagged=a["stratum"] != "none"))


def interval_sentence(
    index: pd.DataFrame | list, rates: dict | None, confidence: float = 0.90
) -> str:
    """One plain sentence on what the published intervals cover (``index``: the period's org
    rows with ``interval_kind`` and ``audit_n``; older rows without them count as sampling)."""
    df = pd.DataFrame(index) if not isinstance(index, pd.DataFrame) else index
    conf = f"{confidence * 100:.0f}%"
    audited = "interval_kind" in df and (df["interval_kind"] == SAMPLING_DETECTOR).any()
    pr = ""
    if rates and rates.get("precision") is not None and rates.get("recall") is not None:
        pr = (
            f" (audited precision {rates['precision'] * 100:.0f}%, recall "
            f"{rates['recall'] * 100:.0f}%, from {rates['n']:,} labels in the lake)"
        )
    if audited:
        n = int(df["audit_n"].fillna(0).sum())
        own = (df["interval_kind"] == SAMPLING_DETECTOR) & (df["audit_n"].fillna(0) > 0)
        pooled = ""
        if int(own.sum()) >= MIN_ORGS:
            pooled = (
                "; each org's interval rests on its own labels (the number under it) and on "
                "the other orgs' through a model of how the detector errs from org to org, "
                "whose spread the interval carries"
            )
        return (
            f"Each {conf} interval covers both which people happened to be in the org and "
            f"the detector's own mistakes, as measured by people who checked {n:,} sampled "
            f"interactions of this period{pr}{pooled}."
        )
    text = (
        f"Each {conf} interval reflects only which people happened to be in the org: it "
        "excludes the detector's own errors, so the true share can lie outside it"
    )
    if pr:
        return text + f"; no audit covers this period{pr}."
    return text + "; no audit has measured those errors yet (theater audit sample)."
