"""The gap between the acceptance estimate and its ceiling, by theater kind.

Usage: python benchmarks/gap_by_kind.py [--seeds 101 201 202 203 204] [--runs RUN_DIR ...]
       [--native DIR]

One format alone covers one tool (the IDE tool) of each org. Its ceiling is the realized theater
share of that tool's interactions (``vendor_ranking.oracle``). This benchmark asks which part of
that share the per-user-day export can see, kind by kind (``truth/interactions.csv``
``mechanism``: discard, repeat, padding, fragment, quota_filler, checkpoint_burst, ...).

``--seeds``: the native world of each seed is generated again (the same call and parameters as
``vendor_ranking.generate``; its truth file is byte-identical to the kept runs'), its IDE rows
joined to the truth, and per org:

- table 1, per kind: its share of the IDE theater rows, the share of its rows an export counts
  unused (disposition not accepted/inserted/copied/edited), the orgs that have it, and the
  Spearman of the org's share of that kind with the org's total;
- table 2, the gap's parts: ``E`` = the org's pooled unused rate over the genuine rate of the
  tool (read from the truth: the best any baseline can do), ``(k/n - b)/(1 - b)``. Exactly,
  ``E - T = (genuine unused - b x genuine rows - theater rows that were used) / ((1 - b) n)``:
  the error is the genuine rows' deviation from the tool's rate plus the theater the export
  counts as used. Spearman against the realized share of ``E``, of ``E`` plus the used theater,
  of ``E`` minus the genuine deviation, and of both (1 by construction);
- table 3, within each org across its users (10+ IDE outputs, orgs of 8+ such users): the
  median Spearman of each user's share of a kind with what the export shows of the user: the
  unused excess (unused rate over each feature's genuine rate), the share of outputs on
  feature-days of 5+ outputs, the Thursday-Friday share, and the spread (coefficient of
  variation) of daily and weekly counts.

``--runs``: kept ``vendor_ranking.py --keep`` runs of those seeds (``s<seed>-<mix>``):

- table 4, what the published estimate captures of each kind: least squares, over the runs'
  orgs per format, of the estimate (``acceptance_excess.estimate`` on the dumped inputs) on the
  orgs' kind shares and genuine deviation (1 = a kind fully counted);
- table 5, the one addition tried for the part the export counts as used (split tasks, whose
  parts are kept half the time, all on one day): per user, feature and day in
  ``silver/user_days``, on a day far above the user's ordinary day in that feature (at least 5
  outputs and 3 times the user's median active day), the outputs kept beyond what the user's
  ordinary day keeps (median day x the user's acceptance rate of that feature), summed per org
  over its usage and added to the estimate. Spearman against the planted share, with and
  without, and the mean level it adds.

Not part of CI; reads truth files, so none of this is an estimator except table 5's addition.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

KINDS = ("discard", "repeat", "padding", "fragment", "quota_filler", "checkpoint_burst")
GH_FEATURE = {"complete": "code_completion", "code_edit": "edit", "agent": "agent"}
OBSERVABLES = ("excess", "spike_share", "thu_fri", "day_cv", "week_cv")


def _sp(x, y) -> float:
    x, y = pd.Series(x, dtype=float), pd.Series(y, dtype=float)
    ok = x.notna() & y.notna()
    if ok.sum() < 4 or x[ok].nunique() < 2 or y[ok].nunique() < 2:
        return float("nan")
    return float(spearmanr(x[ok], y[ok]).statistic)


def native_ide(seed: int, native: Path) -> pd.DataFrame:
    """The seed's IDE interactions with their truth (kind, org) and what an export counts."""
    import pyarrow.dataset as ds

    from theater.synth import generate
    from theater.synth.vocab import USED

    out = native / f"s{seed}"
    if not (out / "truth" / "interactions.csv").exists():
        generate(
            out,
            seed=seed,
            dirty=False,
            formats="parquet",
            n_orgs=24,
            n_users=1200,
            start=date(2026, 7, 1),
            end=date(2026, 8, 26),
            progress=lambda m: None,
        )
    cols = ["event_id", "event_ts", "user_id", "tool", "action", "output_disposition"]
    t = ds.dataset(str(out / "landing" / "interactions"), format="parquet").to_table(columns=cols)
    t = t.to_pandas()
    t = t[t.tool == "ide"]
    tr = pd.read_csv(out / "truth" / "interactions.csv", dtype={"event_id": str})
    tr = tr[tr.tool == "ide"][["event_id", "is_theater", "mechanism", "org_id"]]
    d = t.merge(tr, on="event_id")
    d["used"] = d["output_disposition"].isin(USED)
    ts = pd.to_datetime(d["event_ts"], utc=True, format="ISO8601")
    d["day"] = ts.dt.floor("D")
    d["week"] = ts.dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    d["dow"] = ts.dt.dayofweek
    d["feature"] = d["action"].map(GH_FEATURE).fillna("ask")
    return d


def org_parts(d: pd.DataFrame) -> pd.DataFrame:
    """Per org: realized share ``T``, kind shares ``S_<kind>``, the pooled excess ``E``, the
    genuine deviation ``gdev`` and the used theater ``used_th`` on E's scale."""
    b = 1 - d.loc[d.is_theater == 0, "used"].mean()
    g = d.groupby("org_id")
    o = pd.DataFrame(
        {"n": g.size(), "T": g["is_theater"].mean(), "k": (~d.used).groupby(d.org_id).sum()}
    )
    for k in KINDS:
        o["S_" + k] = (d.mechanism == k).groupby(d.org_id).sum() / o.n
    gen = d[d.is_theater == 0]
    gu = (~gen.used).groupby(gen.org_id).sum()
    o["gdev"] = (gu - b * gen.groupby("org_id").size()) / ((1 - b) * o.n)
    th_used = ((d.is_theater == 1) & d.used).groupby(d.org_id).sum()
    o["used_th"] = th_used / ((1 - b) * o.n)
    o["E"] = (o.k / o.n - b) / (1 - b)
    return o


def user_observables(d: pd.DataFrame) -> pd.DataFrame:
    bf = 1 - d[d.is_theater == 0].groupby("feature")["used"].mean()
    d = d.assign(bexp=d.feature.map(bf), unused=~d.used)
    ufd = d.groupby(["org_id", "user_id", "feature", "day"]).size().rename("c").reset_index()
    on_spike = (ufd.c * (ufd.c >= 5)).groupby([ufd.org_id, ufd.user_id]).sum()
    per_day = d.groupby(["org_id", "user_id", "day"]).size()
    per_week = d.groupby(["org_id", "user_id", "week"]).size()
    g = d.groupby(["org_id", "user_id"])
    n = g.size()

    def cv(s):
        return s.groupby(level=[0, 1]).agg(lambda x: x.std() / x.mean())

    u = pd.DataFrame(
        {
            "n": n,
            "excess": (g["unused"].sum() - g["bexp"].sum()) / n,
            "spike_share": on_spike / n,
            "thu_fri": d.dow.isin([3, 4]).groupby([d.org_id, d.user_id]).mean(),
            "day_cv": cv(per_day),
            "week_cv": cv(per_week),
        }
    )
    for k in KINDS:
        u[k] = (d.mechanism == k).groupby([d.org_id, d.user_id]).sum() / n
    u["fragment_used"] = ((d.mechanism == "fragment") & d.used).groupby(
        [d.org_id, d.user_id]
    ).sum() / n
    return u[u.n >= 10]


def within_org(u: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for org, g in u.groupby(level=0):
        if len(g) < 8:
            continue
        for k in (*KINDS, "fragment_used"):
            if g[k].sum() == 0:
                continue
            rows += [dict(org=org, kind=k, obs=o, rho=_sp(g[k], g[o])) for o in OBSERVABLES]
    return pd.DataFrame(rows)


def spike_kept(user_days: pd.DataFrame) -> pd.Series:
    """Per org: outputs kept on a user's feature-days far above their ordinary day (5+ outputs
    and 3x the user's median active day in that feature), beyond what the ordinary day keeps."""
    u = user_days[user_days["accepted"].notna()].copy()
    shown = u["suggestions_shown"].where(u["suggestions_shown"] > 0, u["requests"]).fillna(0)
    fate = u[["accepted", "rejected", "dismissed"]].fillna(0).sum(axis=1)
    u["n"] = np.maximum(shown, fate)
    u = u[u["n"] > 0]
    by = u.groupby(["user_key", "feature"])
    med = by["n"].transform("median")
    rate = by["accepted"].transform("sum") / by["n"].transform("sum")
    spike = u["n"] >= np.maximum(5, 3 * med)
    kept = np.maximum(u["accepted"] - med * rate, 0) * spike
    return kept.groupby(u["org_id"]).sum()


def measure_runs(
    runs: list[Path], parts: dict[int, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from deltalake import DeltaTable

    from theater.signals import acceptance_excess as ax

    cap, add = [], []
    for r in runs:
        seed, mix = r.name[1:].split("-", 1)
        acc = pd.read_parquet(r / "ax" / "acc.parquet")
        users = pd.read_parquet(r / "ax" / "users.parquet")
        est = ax.estimate(acc, users, ax.Settings(replicates=0)).set_index("org_id")["share"]
        planted = pd.read_csv(r / "world" / "truth" / "orgs.csv").set_index("org_id")[
            "theater_share"
        ]
        if int(seed) in parts:
            j = parts[int(seed)].join(est.rename("est"), how="inner").dropna(subset=["est"])
            cap.append(j.assign(mix=mix))
        ud = DeltaTable(str(r / "lake" / "silver" / "user_days")).to_pandas()
        extra = spike_kept(ud) / users.groupby("org_id")["usage"].sum()
        m = pd.DataFrame({"est": est, "planted": planted}).dropna()
        m["add"] = extra.reindex(m.index).fillna(0)
        add.append(
            dict(
                seed=int(seed),
                mix=mix,
                orgs=len(m),
                published=_sp(m.est, m.planted),
                with_addition=_sp(m.est + m["add"], m.planted),
                level_added=m["add"].mean(),
            )
        )
    return (pd.concat(cap) if cap else pd.DataFrame()), pd.DataFrame(add)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[101, 201, 202, 203, 204])
    ap.add_argument("--runs", nargs="*", default=[])
    ap.add_argument("--native", default="/tmp/gap-by-kind")
    args = ap.parse_args(argv)
    native = Path(args.native)
    kinds, comp, within, parts = [], [], [], {}
    for s in args.seeds:
        d = native_ide(s, native)
        o = org_parts(d)
        parts[s] = o
        th = d.is_theater.sum()
        for k in KINDS:
            sel = d.mechanism == k
            kinds.append(
                dict(
                    seed=s,
                    kind=k,
                    of_theater=sel.sum() / th,
                    unused=(~d.used[sel]).mean() if sel.any() else np.nan,
                    orgs=int((o["S_" + k] > 0).sum()),
                    rho=_sp(o["S_" + k], o["T"]),
                )
            )
        comp.append(
            dict(
                seed=s,
                E=_sp(o.E, o["T"]),
                E_plus_used_theater=_sp(o.E + o.used_th, o["T"]),
                E_minus_genuine_dev=_sp(o.E - o.gdev, o["T"]),
                both=_sp(o.E + o.used_th - o.gdev, o["T"]),
                sd_T=o["T"].std(),
                sd_genuine_dev=o.gdev.std(),
                sd_used_theater=o.used_th.std(),
            )
        )
        within.append(within_org(user_observables(d)).assign(seed=s))
        print(f"seed {s}: {len(d)} IDE rows", file=sys.stderr, flush=True)
    pd.set_option("display.width", 200)
    if kinds:
        k = pd.DataFrame(kinds).groupby("kind", sort=False)
        t1 = pd.DataFrame(
            {
                "of IDE theater (mean, range)": k.of_theater.agg(
                    lambda x: f"{x.mean():.2f} ({x.min():.2f}-{x.max():.2f})"
                ),
                "counted unused": k.unused.mean().round(2),
                "orgs with it": k.orgs.agg(lambda x: f"{x.min()}-{x.max()}"),
                "rho with total (median, range)": k.rho.agg(
                    lambda x: f"{x.median():.2f} ({x.min():.2f} to {x.max():.2f})"
                ),
            }
        )
        print("\n## 1. kinds\n" + t1.to_string())
        print("\n## 2. parts of the gap\n" + pd.DataFrame(comp).round(3).to_string(index=False))
        w = pd.concat(within)
        t3 = w.groupby(["kind", "obs"]).rho.median().unstack().round(2)
        t3["orgs"] = w[w.obs == "excess"].groupby("kind").size()
        print(
            "\n## 3. within-org Spearman, user's share of a kind vs observable\n" + t3.to_string()
        )
    if args.runs:
        cap, add = measure_runs([Path(r) for r in args.runs], parts)
        if len(cap):
            rows = {}
            for mix, g in cap.groupby("mix"):
                X = np.column_stack([g["S_" + k] for k in KINDS] + [g.gdev, np.ones(len(g))])
                beta = np.linalg.lstsq(X, g.est.to_numpy(float), rcond=None)[0]
                rows[mix] = dict(zip([*KINDS, "genuine_dev", "const"], beta.round(2)))
            print("\n## 4. capture coefficients\n" + pd.DataFrame(rows).T.to_string())
        add["gain"] = add.with_addition - add.published
        print("\n## 5. the addition\n" + add.round(3).to_string(index=False))
        print(
            f"mean gain {add.gain.mean():+.3f}, min {add.gain.min():+.3f}, max {add.gain.max():+.3f}"
        )
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
