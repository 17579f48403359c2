"""The published basis and the company figure before and after a change, on kept runs of
``vendor_ranking.py --keep`` whose score stage was re-run on copies of their lakes.

For each seed: the orgs' basis, Spearman of the published figure against the planted theater
share (truth ``orgs.csv``) over the published orgs, each org's 90% interval against its
planted share, and the report's company figure (``report.figures.company_share`` of the tree
on ``PYTHONPATH``, read from the "after" lake; the "before" card figure from ``--before-src``'s
tree in a child process) against the planted share of the published orgs' interactions (truth
``interactions.csv``). Reads lakes only; runs no pipeline.

Usage: PYTHONPATH=src python benchmarks/basis_compare.py --before DIR --after DIR
    --runs RUN... [--before-src DIR] [--out DIR]
(DIR/<run name>/lake: the re-scored copies; RUN: the kept run with world/truth.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vendor_ranking as vr  # noqa: E402

OLD_CARD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import vendor_ranking as vr
from theater.report import figures as fg
from theater.report.data import _anonymize
lake = Path(sys.argv[1])
g = vr._table(lake / "gold" / "org_theater_index")
ad = vr._table(lake / "gold" / "org_adoption")
uw = _anonymize(vr._table(lake / "gold" / "user_weeks"))
try:
    s = fg.company_share(g, uw, adoption=ad)
except TypeError:
    s = fg.company_share(g, adoption=ad)
print(json.dumps({"value": s.value, "low": s.low, "high": s.high, "n_orgs": s.n_orgs}))
"""


def _card(lake: Path, src: str | None) -> dict:
    """The report's company figure on ``lake``, by the tree at ``src`` (None: this one)."""
    env = None
    if src is not None:
        import os

        env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run(
        [sys.executable, "-c", OLD_CARD, str(lake), str(Path(__file__).resolve().parent)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _side(lake: Path, orgs: pd.DataFrame) -> pd.DataFrame:
    g = vr._table(lake / "gold" / "org_theater_index")
    pub = g[~g["suppressed"].astype(bool) & g["theater_index"].notna()].copy()
    pub["planted"] = pub["org_id"].map(orgs["theater_share"]) * 100
    pub["covers"] = (pub["ci_low"] <= pub["planted"] + 1e-9) & (
        pub["planted"] <= pub["ci_high"] + 1e-9
    )
    return pub.set_index("org_id")


def main(argv=None) -> int:
    warnings.simplefilter("ignore", FutureWarning)
    p = argparse.ArgumentParser()
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--after", type=Path, required=True)
    p.add_argument("--runs", type=Path, nargs="+", required=True)
    p.add_argument("--before-src", default=None)
    p.add_argument("--out", type=Path, default=Path("/tmp/basis_compare"))
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    seeds, per_org = [], []
    for run in a.runs:
        truth = run / "world" / "truth"
        orgs = pd.read_csv(truth / "orgs.csv").set_index("org_id")
        t = pd.read_csv(truth / "interactions.csv", usecols=["org_id", "is_theater"])
        lb, la = a.before / run.name / "lake", a.after / run.name / "lake"
        b, f = _side(lb, orgs), _side(la, orgs)
        row = {"seed": run.name[1:4], "published": f"{len(b)} / {len(f)}"}
        for tag, s in (("before", b), ("after", f)):
            row[f"basis_{tag}"] = "/".join(
                str(int((s["index_basis"] == k).sum())) for k in ("interactions", "acceptance")
            )
            row[f"spearman_{tag}"] = s["theater_index"].corr(s["planted"], method="spearman")
            row[f"covers_{tag}"] = f"{int(s['covers'].sum())}/{len(s)}"
            row[f"mae_{tag}"] = (s["theater_index"] - s["planted"]).abs().mean()
        moved = b.index[b["index_basis"] != f["index_basis"].reindex(b.index)]
        row["switched"] = len(moved)
        for o in moved:
            per_org.append(
                {
                    "seed": row["seed"],
                    "org": o,
                    "basis": f"{b.loc[o, 'index_basis']} -> {f.loc[o, 'index_basis']}",
                    "n_measured": b.loc[o, "n_measured"],
                    "n_interactions": b.loc[o, "n_interactions"],
                    "before": f"{b.loc[o, 'theater_index']:.1f} "
                    f"[{b.loc[o, 'ci_low']:.1f}, {b.loc[o, 'ci_high']:.1f}]",
                    "after": f"{f.loc[o, 'theater_index']:.1f} "
                    f"[{f.loc[o, 'ci_low']:.1f}, {f.loc[o, 'ci_high']:.1f}]",
                    "planted": round(b.loc[o, "planted"], 1),
                    "covers_before": bool(b.loc[o, "covers"]),
                    "covers_after": bool(f.loc[o, "covers"]),
                }
            )
        planted_pub = t[t["org_id"].isin(set(f.index))]["is_theater"].mean() * 100
        old = _card(lb, a.before_src)
        new = _card(la, None)
        row["planted_pub"] = planted_pub
        for tag, c in (("card_before", old), ("card_after", new)):
            v = c["value"]
            row[tag] = (
                "none"
                if v is None
                else f"{v:.1f} [{c['low']:.1f}, {c['high']:.1f}] ({c['n_orgs']})"
                + (" covers" if c["low"] <= planted_pub <= c["high"] else " misses")
            )
        seeds.append(row)
    s, o = pd.DataFrame(seeds), pd.DataFrame(per_org)
    s.to_csv(a.out / "seeds.csv", index=False)
    o.to_csv(a.out / "switched.csv", index=False)
    print(s.round(3).to_string(index=False))
    print()
    print(o.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
