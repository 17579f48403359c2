"""The report's company theater share on kept vendor-ranking runs, taken apart against the
world's truth, and a usage-weighted figure over all published orgs beside it. Reads kept runs
only (``vendor_ranking.py --keep``: ``lake/``, ``ax/``, ``world/truth``); runs no pipeline.

Usage: python benchmarks/company_gap.py RUN_DIR [RUN_DIR ...] [--out DIR]

1. Per org published by the per-interaction index (``index_basis = 'interactions'``): its 90%
   interval against the planted share (``truth/orgs.csv``, the realized share over all its
   usage), the realized share over the tools a format delivered, over its IDE tool, and over
   its measured interactions (gold ``interaction_labels`` rows with a per-interaction signal,
   mapped to the truth's events through the synthetic exports' ids).
2. The company figure (``report.figures.company_share``) against the planted share of the orgs
   it covers, step by step: A all their usage, B the delivered tools' (A - B: the undelivered
   tool), C their measured interactions' (B - C: delivered but unmeasured), D the estimate on
   those measured interactions (D - C: what the signals read on them).
3. A company figure over ALL published orgs (both bases), each org weighted by its recorded
   usage (gold ``org_adoption`` 'all' requests; also active days and, as a reference, the
   truth's interaction count), with two combined intervals: ``independent`` (each side the
   root-sum-square of the weighted half-widths: the orgs' estimates rest on disjoint people)
   and ``comonotone`` (weighted sums of the bounds: any dependence). Also with the acceptance
   estimate (200 replicates) for every org that has one, the per-interaction orgs included.

Writes CSVs under ``--out`` and prints the tables.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import vendor_ranking as vr  # noqa: E402

FLAGS = ("unused_output", "self_summary", "repeat_prompt", "fragmentation", "padding")


def _truth(d: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    truth = d / "world" / "truth"
    st = pd.read_csv(truth / "vendor_stacks.csv")
    t = pd.read_csv(truth / "interactions.csv")
    delivered = set(map(tuple, st[st["format"].notna()][["org_id", "tool"]].to_numpy()))
    t["delivered"] = [(o, tl) in delivered for o, tl in zip(t["org_id"], t["tool"])]
    return pd.read_csv(truth / "orgs.csv").set_index("org_id"), t


def decompose(d: Path) -> tuple[list[dict], dict, list[dict]]:
    from theater.report import figures as fg
    from theater.report.data import _anonymize
    from theater.synth.exports.common import uuid_of

    seed = int(d.name[1:4])
    orgs, t = _truth(d)
    g = vr._table(d / "lake" / "gold" / "org_theater_index")
    pub = fg.published(g)
    ia = pub[pub["index_basis"] == "interactions"].sort_values("org_id")
    if ia.empty:
        return [], {"seed": seed, "n_orgs": 0}, []
    cov = set(ia["org_id"])
    lab = vr._table(d / "lake" / "gold" / "interaction_labels")
    lab = lab[lab["org_id"].isin(cov)].copy()
    sig = lab[[f"sig_{f}" for f in FLAGS]].notna().any(axis=1)
    lab["measured"] = sig & lab["theater_probability"].notna()
    m = t[t["org_id"].isin(cov) & t["delivered"]].copy()
    # the synthetic exports' ids: Claude Code OTel prompt.id, M365 audit Id
    m["gid"] = [
        uuid_of(("m365|" if tl == "docs" else "prompt|") + e)
        for tl, e in zip(m["tool"], m["event_id"])
    ]
    keep = lab[["event_id", "measured", "theater_probability"]]
    m = m.merge(keep.rename(columns={"event_id": "gid"}), on="gid", how="left")
    m["measured"] = m["measured"].astype("boolean").fillna(False).astype(bool)
    mm = m[m["measured"]]
    org_rows = []
    for _, r in ia.iterrows():
        o = r["org_id"]
        to, mo = t[t["org_id"] == o], mm[mm["org_id"] == o]
        org_rows.append(
            {
                "seed": seed,
                "org": o,
                "index": r["theater_index"],
                "lo": r["ci_low"],
                "hi": r["ci_high"],
                "n_meas": int(r["n_measured"]),
                "n_gold": int(r["n_interactions"]),
                "planted": orgs.loc[o, "theater_share"] * 100,
                "deliv": to[to["delivered"]]["is_theater"].mean() * 100,
                "ide": to[to["tool"] == "ide"]["is_theater"].mean() * 100,
                "meas": mo["is_theater"].mean() * 100,
                "est_meas": mo["theater_probability"].mean() * 100,
            }
        )
    tc = t[t["org_id"].isin(cov)]
    sh = fg.company_share(g, _anonymize(vr._table(d / "lake" / "gold" / "user_weeks")))
    unmeas = m[~m["measured"]]
    comp = {
        "seed": seed,
        "n_orgs": len(cov),
        "company": sh.value,
        "lo": sh.low,
        "hi": sh.high,
        "A_all": tc["is_theater"].mean() * 100,
        "B_deliv": tc[tc["delivered"]]["is_theater"].mean() * 100,
        "C_meas": mm["is_theater"].mean() * 100,
        "D_est": mm["theater_probability"].mean() * 100,
        "share_assist": (~tc["delivered"]).mean() * 100,
        "share_meas": len(mm) / len(tc) * 100,
        "th_assist": tc[~tc["delivered"]]["is_theater"].mean() * 100,
        "th_unmeas": unmeas["is_theater"].mean() * 100,
        "th_ide_unmeas": unmeas[unmeas["tool"] == "ide"]["is_theater"].mean() * 100,
    }
    comp["share_unmeas"] = 100 - comp["share_assist"] - comp["share_meas"]
    mech = [
        {
            "seed": seed,
            "tool": tl,
            "measured": ms,
            "mechanism": k,
            "n": len(x),
            "p": x["theater_probability"].mean(),
        }
        for (tl, ms, k), x in m.groupby(["tool", "measured", "mechanism"])
    ]
    return org_rows, comp, mech


def combine(x, lo, hi, w) -> tuple[float, float, float, float, float]:
    """Weighted mean of org figures and its two combined intervals (see the module doc)."""
    w = w / w.sum()
    v = float((w * x).sum())
    ind_lo = v - float(np.sqrt((w**2 * (x - lo) ** 2).sum()))
    ind_hi = v + float(np.sqrt((w**2 * (hi - x) ** 2).sum()))
    return v, ind_lo, ind_hi, float((w * lo).sum()), float((w * hi).sum())


def all_orgs(d: Path, replicates: int) -> list[dict]:
    from theater.report import figures as fg
    from theater.signals import acceptance_excess as ax

    seed = int(d.name[1:4])
    orgs, t = _truth(d)
    g = vr._table(d / "lake" / "gold" / "org_theater_index")
    ad = vr._table(d / "lake" / "gold" / "org_adoption")
    pub = fg.published(g).copy()
    alls = ad[ad["source_format"] == "all"].set_index("org_id")
    pub["w_req"] = pub["org_id"].map(alls["requests"]).astype(float)
    pub["w_days"] = pub["org_id"].map(alls["active_days"]).astype(float)
    pub["w_truth"] = pub["org_id"].map(orgs["n_interactions"]).astype(float)
    acc = pd.read_parquet(d / "ax" / "acc.parquet")
    users = pd.read_parquet(d / "ax" / "users.parquet")
    est = ax.estimate(acc, users, ax.Settings(replicates=replicates)).set_index("org_id")
    tp = t[t["org_id"].isin(set(pub["org_id"]))]
    rows = []
    for wname in ("w_req", "w_days", "w_truth"):
        for variant in ("gold", "acceptance_where_any"):
            x, lo, hi = (pub[c].astype(float) for c in ("theater_index", "ci_low", "ci_high"))
            if variant != "gold":
                a = pub["org_id"].map(est["share"]) * 100
                ok = a.notna()
                x = x.where(~ok, a)
                lo = lo.where(~ok, pub["org_id"].map(est["ci_low"]) * 100)
                hi = hi.where(~ok, pub["org_id"].map(est["ci_high"]) * 100)
            v, il, ih, cl, ch = combine(x, lo, hi, pub[wname].fillna(0.0))
            rows.append(
                {
                    "seed": seed,
                    "weight": wname,
                    "variant": variant,
                    "n_pub": len(pub),
                    "n_ia": int((pub["index_basis"] == "interactions").sum()),
                    "value": v,
                    "ind_lo": il,
                    "ind_hi": ih,
                    "com_lo": cl,
                    "com_hi": ch,
                    "planted_pub": tp["is_theater"].mean() * 100,
                    "planted_all": t["is_theater"].mean() * 100,
                }
            )
    return rows


def main(argv=None) -> int:
    warnings.simplefilter("ignore", FutureWarning)
    p = argparse.ArgumentParser()
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=Path("/tmp/company_gap"))
    p.add_argument("--replicates", type=int, default=200)
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    orgs, comp, mech, alls = [], [], [], []
    for d in a.runs:
        o, c, m = decompose(d)
        orgs += o
        comp.append(c)
        mech += m
        alls += all_orgs(d, a.replicates)
    tables = {
        "orgs_ia": pd.DataFrame(orgs),
        "company": pd.DataFrame(comp),
        "mechanisms": pd.DataFrame(mech),
        "all_orgs": pd.DataFrame(alls),
    }
    o = tables["orgs_ia"]
    for c in ("planted", "deliv", "ide", "meas"):
        o["cov_" + c] = (o["lo"] <= o[c] + 1e-9) & (o[c] <= o["hi"] + 1e-9)
    for name, df in tables.items():
        df.to_csv(a.out / f"{name}.csv", index=False)
        print(f"## {name}\n")
        print(df.round(2).to_string(index=False))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
