"""Why a kept mixed vendor run ranks below its ceiling: per org and per format, the published
figure beside the planted share, the ceiling, the plain rate and each feature's baseline
against the tool's genuine unused rate.

Usage: python benchmarks/rank_diag_412.py RUN_DIR NATIVE_DIR [RUN_DIR NATIVE_DIR ...]

Benchmark only, and it READS THE TRUTH: ``RUN_DIR`` is a run kept by ``vendor_ranking.py
--keep`` (``world/truth``, ``lake``, ``ax/acc.parquet``, ``ax/users.parquet``); ``NATIVE_DIR``
is the native world of the same seed (``theater.synth.steps.generate(NATIVE_DIR, seed=...,
dirty=False, formats="parquet", n_orgs=24, n_users=1200, start=2026-07-01, end=2026-08-26)``,
the world the vendor delivery was written from: its ``truth/interactions.csv`` is checked
byte-equal to the run's). The native events give each output's disposition, and the truth
whether it was theater, so per acceptance feature the tool's *genuine* unused rate is known:
over the orgs that deliver the format, and over all 24 orgs (as if the format reached every
org). It is expressed in the export's unit (Amazon Q counts chat messages both ways; Claude
Code OTel logs a decision only for used or discarded outputs).

Prints, per run: the estimator's baselines (with and without the kind pooling) against the
genuine rates; the published Spearman with the baselines swapped for the genuine rates (a
diagnostic: no delivery holds them); per format the level error (published - ceiling); and
per org planted share, ceiling (realized share of the delivered IDE tool), basis, the format
of its acceptance counts, counted share (counted outputs / usage), published, plain rate and
the published figure with genuine baselines, ranks among the orgs all estimates have.
"""

from __future__ import annotations

import filecmp
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as pads

sys.path.insert(0, str(Path(__file__).parent))
import vendor_ranking as vr  # noqa: E402
from rank_compare import rho, simple_estimators  # noqa: E402

from theater.signals import acceptance_excess as ax  # noqa: E402
from theater.synth.vocab import USED  # noqa: E402

#: native ``action`` -> the export's feature, per format (the synthetic writers' mapping)
ACTION_FEATURE = {
    "github_copilot_users": {
        "complete": "code_completion",
        "code_edit": "chat_panel_edit_mode",
        "agent": "chat_panel_agent_mode",
    },
    "amazon_q_user_activity": {
        "complete": "code_completion",
        "code_edit": "inline_chat",
        "agent": "dev_agent",
    },
    "cursor_daily_usage": {"complete": "code_completion", "code_edit": "apply"},
}
OTHER = {"github_copilot_users": "chat_panel_ask_mode", "amazon_q_user_activity": "chat"}
#: outputs counted per native output (Amazon Q's chat messages: prompt and answer)
UNIT = {("amazon_q_user_activity", "chat"): 2.0}


def native_ide(native: Path) -> pd.DataFrame:
    ev = pads.dataset(native / "landing" / "interactions" / "ide", format="parquet").to_table(
        columns=["event_id", "org_id", "action", "output_disposition"]
    )
    ev = ev.to_pandas()
    tr = pd.read_csv(native / "truth" / "interactions.csv", usecols=["event_id", "is_theater"])
    ev = ev.merge(tr, on="event_id", how="left")
    ev["used"] = ev["output_disposition"].isin(USED)
    return ev


def feature_of(ev: pd.DataFrame, fmt: str) -> pd.Series:
    """Per native IDE event: the acceptance feature it is counted under in ``fmt`` (NaN: not
    counted). Claude Code OTel: every IDE event is one interaction, unused unless a decision
    accepted it (the events' reading), all under ``ide/agent`` in these worlds."""
    if fmt == "claude_code_otel":
        return pd.Series("ide/agent", index=ev.index)
    fe = ev["action"].map(ACTION_FEATURE.get(fmt, {}))
    return fe.fillna(OTHER[fmt]) if fmt in OTHER else fe


def counted_truth(ev: pd.DataFrame, stacks: pd.DataFrame, gen: pd.DataFrame) -> pd.DataFrame:
    """Per org, over the native IDE events its format counts (native units): the realized
    theater share of the counted outputs; the share of its theater outputs left unused; the
    excess an exact reading of the counts would see, ``sum (k_f - n_f g_f) / sum n_f (1 - g_f)``
    with ``g_f`` the tool's genuine rate over all orgs (no sampling noise, no baseline error:
    the best any acceptance-count estimator can do on these outputs); and the org's own genuine
    unused rate minus the tool's (outputs-weighted)."""
    ide = stacks[stacks["tool"] == "ide"].set_index("org_id")["format"]
    rows = []
    delivered = {f.split("/", 1)[0] for f in gen.index}
    for org, fmt in ide.items():
        if fmt not in delivered:
            continue
        e = ev[ev["org_id"] == org]
        fe = feature_of(e, fmt)
        e = e.assign(f=fmt + "/" + fe).dropna(subset=["f"])
        e = e[e["f"].isin(gen.index)]
        if e.empty:
            continue
        unit = e["f"].map(lambda f: UNIT.get(tuple(f.split("/", 1)), 1.0))
        g_nat = 1 - (1 - e["f"].map(gen["genuine_all"])) * unit  # back to native units
        unused = ~e["used"]
        th = e["is_theater"] == 1
        own = e[~th].groupby("f")["used"].agg(["size", "mean"])
        u_f = pd.Series([UNIT.get(tuple(f.split("/", 1)), 1.0) for f in own.index], own.index)
        dev = (1 - own["mean"]) - (1 - (1 - gen["genuine_all"].reindex(own.index)) * u_f)
        rows.append(
            {
                "org_id": org,
                "counted_theater": th.mean(),
                "theater_unused": unused[th].mean() if th.any() else np.nan,
                "exact_counts": float((unused - g_nat).sum() / (1 - g_nat).sum()),
                "own_genuine_dev": float(np.average(dev, weights=own["size"])),
            }
        )
    return pd.DataFrame(rows)


def genuine_rates(ev: pd.DataFrame, stacks: pd.DataFrame, features) -> pd.DataFrame:
    """Per acceptance feature: the genuine (non-theater) unused rate in the export's unit, over
    the orgs that deliver the format and over all orgs; the realized theater share of the
    feature's outputs in the delivering orgs."""
    ide = stacks[stacks["tool"] == "ide"].set_index("org_id")["format"]
    rows = []
    for f in features:
        fmt, feat = f.split("/", 1)
        e = ev[feature_of(ev, fmt) == feat]
        unit = UNIT.get((fmt, feat), 1.0)
        g = e[e["is_theater"] == 0]
        gd = g[g["org_id"].map(ide) == fmt]
        ed = e[e["org_id"].map(ide) == fmt]

        def rate(x):
            return 1 - x["used"].sum() / (unit * len(x)) if len(x) else np.nan

        rows.append(
            {
                "feature": f,
                "genuine_delivered": rate(gd),
                "genuine_all": rate(g),
                "theater_delivered": ed["is_theater"].mean() if len(ed) else np.nan,
                "native_outputs": len(ed),
            }
        )
    return pd.DataFrame(rows).set_index("feature")


def estimator_baselines(acc: pd.DataFrame, users: pd.DataFrame, pool: bool) -> dict:
    a = acc[acc["n"] > 0].sort_values(["org_id", "user_key", "feature"], kind="stable").copy()
    a["k"] = np.minimum(a["k"].clip(lower=0), a["n"])
    fr = ax._frame(a, users.sort_values(["org_id", "user_key"], kind="stable"))
    names = np.unique(a["feature"].astype(str).to_numpy())
    b = ax.baselines(
        fr.row_feature,
        fr.n,
        fr.k,
        np.ones(len(fr.n)),
        ax.Settings(),
        fr.user_org[fr.row_user],
        None,
        fr.kinds if pool else None,
    )
    return {names[c]: v for c, v in b.items()}


def estimate_with(acc, users, table: dict | None) -> pd.Series:
    """The point estimate, with every feature's baseline replaced by ``table`` (by name)."""
    if table is None:
        est = ax.estimate(acc, users, ax.Settings(replicates=0))
        return est.set_index("org_id")["share"]
    names = np.unique(acc[acc["n"] > 0]["feature"].astype(str).to_numpy())
    orig = ax.baselines

    def patched(feature, *args, **kw):
        return {c: float(table[names[c]]) for c in np.unique(feature)}

    ax.baselines = patched
    try:
        est = ax.estimate(acc, users, ax.Settings(replicates=0))
    finally:
        ax.baselines = orig
    return est.set_index("org_id")["share"]


def rk(s: pd.Series) -> pd.Series:
    return s.rank(ascending=False, method="min").astype("Int64")


def one(run: Path, native: Path) -> None:
    truth = run / "world" / "truth"
    if not filecmp.cmp(truth / "interactions.csv", native / "truth" / "interactions.csv", False):
        raise SystemExit(f"{native}: not the world of {run} (truth/interactions.csv differs)")
    acc = pd.read_parquet(run / "ax" / "acc.parquet")
    users = pd.read_parquet(run / "ax" / "users.parquet")
    stacks = pd.read_csv(truth / "vendor_stacks.csv")
    gold = vr._table(run / "lake" / "gold" / "org_theater_index")
    g = vr.recompute(gold[~gold.suppressed][["org_id", "theater_index", "index_basis"]], run / "ax")
    feats = sorted(acc.loc[acc["n"] > 0, "feature"].astype(str).unique())
    ev = native_ide(native)
    gen = genuine_rates(ev, stacks, feats)
    gen["pooled"] = pd.Series(estimator_baselines(acc, users, True))
    gen["unpooled"] = pd.Series(estimator_baselines(acc, users, False))
    a = acc[acc["n"] > 0]
    fs = a.groupby("feature")
    gen["orgs"] = fs["org_id"].nunique()
    gen["users_10"] = a[a["n"] >= 10].groupby("feature")["user_key"].nunique()
    gen["unused_all"] = fs["k"].sum() / fs["n"].sum()
    gen["n"] = fs["n"].sum()
    print(f"\n== {run.name}: baselines (estimator) against the genuine unused rate (truth)")
    print(gen.round(3).to_string())

    orgs = pd.read_csv(truth / "orgs.csv")[["org_id", "theater_share"]]
    fmt = (
        a.assign(f=a["feature"].str.split("/").str[0])
        .groupby("org_id")["f"]
        .agg(lambda s: "+".join(sorted(set(s))))
    )
    cov = a.groupby("org_id")["n"].sum() / users.groupby("org_id")["usage"].sum()
    m = (
        orgs.merge(g, on="org_id")
        .merge(simple_estimators(acc), on="org_id", how="left")
        .merge(vr.oracle(acc, truth), on="org_id", how="left")
    )
    m = m.merge(counted_truth(ev, stacks, gen), on="org_id", how="left")
    m["fmt"] = m["org_id"].map(fmt)
    m["counted"] = m["org_id"].map(cov)
    m["published"] = m["theater_index"] / 100
    own = m["index_basis"] == "interactions"
    for tag, col in (("genuine_all", "cf_all"), ("genuine_delivered", "cf_dlv")):
        cf = estimate_with(acc, users, gen[tag].to_dict())
        m[col] = np.where(own, m["published"], m["org_id"].map(cf))
    common = m[["theater_index", "acceptance_rate", "user_excess"]].notna().all(axis=1)
    c = m[common].copy()
    print(f"\n== {run.name}: Spearman against the planted share on {len(c)} orgs")
    for col in (
        "published",
        "acceptance_rate",
        "user_excess",
        "oracle",
        "counted_theater",
        "exact_counts",
        "cf_all",
        "cf_dlv",
    ):
        print(f"  {col:16s} {rho(c[col], c['theater_share'])}")
    # one group of features at a time: which baselines cost the ranking
    est_b = {**gen["pooled"].to_dict()}
    groups = {f.split("/", 1)[0]: [] for f in gen.index}
    for f in gen.index:
        groups[f.split("/", 1)[0]].append(f)
    groups["thin (under 10 users of 10+ outputs)"] = list(gen.index[gen["users_10"] < 10])
    for name, fs in groups.items():
        table = {**est_b, **{f: gen.loc[f, "genuine_all"] for f in fs}}
        cf = estimate_with(acc, users, table)
        x = np.where(own, m["published"], m["org_id"].map(cf))[common.to_numpy()]
        r = rho(pd.Series(x, index=c.index), c["theater_share"])
        print(f"  genuine baselines for {name} only: {r}")
    acc_only = c["index_basis"] == "acceptance"
    print(f"  acceptance-basis orgs only ({int(acc_only.sum())}):")
    for col in ("published", "acceptance_rate", "oracle", "exact_counts", "cf_all"):
        print(f"    {col:16s} {rho(c[col][acc_only], c['theater_share'][acc_only])}")
    for col in (
        "theater_share",
        "oracle",
        "published",
        "acceptance_rate",
        "cf_all",
        "exact_counts",
    ):
        c["r_" + col] = rk(c[col])
    c["miss"] = (c["r_published"] - c["r_theater_share"]).abs() >= 4
    c["err"] = c["published"] - c["oracle"]
    c["err_cf"] = c["cf_all"] - c["oracle"]
    c["err_exact"] = c["exact_counts"] - c["oracle"]
    print(f"\n== {run.name}: level error (published - ceiling) per acceptance format")
    print(
        c.groupby("fmt")
        .agg(
            orgs=("org_id", "size"),
            ceilings=("oracle", lambda s: ", ".join(f"{x:.2f}" for x in s)),
            err=("err", "mean"),
            err_genuine=("err_cf", "mean"),
            err_exact=("err_exact", "mean"),
        )
        .round(3)
        .to_string()
    )
    show = [
        "org_id",
        "theater_share",
        "r_theater_share",
        "oracle",
        "r_oracle",
        "index_basis",
        "fmt",
        "counted",
        "published",
        "r_published",
        "acceptance_rate",
        "r_acceptance_rate",
        "cf_all",
        "r_cf_all",
        "counted_theater",
        "theater_unused",
        "exact_counts",
        "r_exact_counts",
        "own_genuine_dev",
        "miss",
    ]
    print(f"\n== {run.name}: per org (ranks among the {len(c)} common orgs)")
    print(c.sort_values("theater_share", ascending=False)[show].round(3).to_string(index=False))


def main(argv=None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    if not args or len(args) % 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    for run, native in zip(args[::2], args[1::2], strict=True):
        one(Path(run), Path(native))
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
