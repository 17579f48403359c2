"""Adoption counts on a vendor-delivered world against its planted truth.

One small generated world (``theater.synth.generate``) is delivered as vendor exports
(``theater.synth.exports.write_vendor_delivery``: each org's tools through the formats of its
stack), seats are planted in ``landing/seats/`` (a plain CSV: every directory person holds a
seat of each tool their org's stack reports, from before the period), and a seat price is
configured. ``theater run`` (ingest, refine, score; embedded Sail, Delta) then writes
gold/org_adoption, whose ``all`` rows are compared per org with the truth computed from the
native events the delivery was made from, each in its true org (``truth/interactions.csv``,
the directory's org at the event's UTC date, the org the delivery files it under; the native
record's own ``org_id`` is null on some rows, 8-35% a tool, and is not used):

- active: people with at least one native interaction in the period;
- engaged: people with an interaction in at least ``engaged_weeks`` of the period's ISO weeks;
- seats: the planted seats; idle: planted seats whose holder has no native interaction of a
  tool the seat's format carries in the period's last 28 days; ``idle_measurable``: the same
  without the seats of a tool the org's stack exports only at org level (GitHub's org metrics,
  Microsoft's usage reports), whose use no person's row shows: gold never calls those idle;
- cost: seats x days held x the daily seat price, plus the vendors' own figures the delivery
  writes (Cursor ``totalCents`` 0.1 on each token-priced event; LiteLLM ``spend`` is blank).

Usage: python benchmarks/adoption_truth.py [--seed 44] [--orgs 6] [--users 240] [--out DIR]
Prints a Markdown table and writes ``<out>/adoption_truth.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

START, END = date(2026, 7, 1), date(2026, 7, 29)
SEAT_PER_MONTH = 36.5  # 1.2 a day
SEAT_FROM = "2026-06-01"


def _table(path: Path) -> pd.DataFrame:
    from deltalake import DeltaTable

    return DeltaTable(str(path)).to_pandas()


def seat_tool(fmt: str) -> str:
    from theater.sources.seats import TOOL_SOURCES

    for tool, sources in TOOL_SOURCES.items():
        if fmt in sources:
            return tool
    return fmt


def plant_seats(vend: Path, native: pd.DataFrame, stacks: pd.DataFrame, directory) -> pd.DataFrame:
    """landing/seats/seats.csv: each directory person x each seat tool of their org's stack;
    returns the seats with the truth of their use in the last 28 days."""
    recent = pd.Timestamp(END - timedelta(days=28), tz="UTC")
    used = native[native.event_ts >= recent]
    rows = []
    for person, org in zip(directory.user_id, directory.org_id):
        mine = used[used.user_id == person]
        for tool_native, fmt in stacks[stacks.org_id == org][["tool", "format"]].values:
            rows.append(
                {
                    "alias": person,
                    "tool": seat_tool(fmt),
                    "org_id": org,
                    "native_tool": tool_native,
                    "used": bool((mine.tool == tool_native).any()),
                }
            )
    # a seat tool two native tools map to (Claude Code: cli and ide) is used if either is
    seats = (
        pd.DataFrame(rows)
        .groupby(["alias", "tool", "org_id"], as_index=False)
        .agg(used=("used", "any"))
    )
    (vend / "landing" / "seats").mkdir(parents=True, exist_ok=True)
    out = seats[["alias", "tool"]].assign(assigned_from=SEAT_FROM, assigned_to="")
    out.to_csv(vend / "landing" / "seats" / "seats.csv", index=False)
    return seats


def truth(native: pd.DataFrame, seats: pd.DataFrame, stacks: pd.DataFrame) -> pd.DataFrame:
    from theater.transforms.adoption import engaged_weeks, period_weeks

    need = engaged_weeks(period_weeks(START, END))
    n = native.copy()
    n["week"] = n.event_ts.dt.tz_convert(None).dt.to_period("W-SUN")
    per = n.groupby(["org_id", "user_id"]).week.nunique().reset_index()
    days = (END - START).days
    # the vendors' own figures the delivery writes: Cursor 0.1 US cents a token-priced event
    cur = stacks[stacks.format == "cursor_usage_events"][["org_id", "tool"]]
    cursor = n.merge(cur, on=["org_id", "tool"])
    cursor = cursor[cursor.prompt_tokens.notna()].groupby("org_id").size() * 0.001
    from theater.sources.exports import FORMATS

    org_level = stacks[stacks.format.map(lambda f: FORMATS[f].grain == "org_day")]
    blind = set(zip(org_level.org_id, org_level.format.map(seat_tool)))
    measurable = pd.Series(
        [(o, t) not in blind for o, t in zip(seats.org_id, seats.tool)], index=seats.index
    )
    out = pd.DataFrame(
        {
            "active": per.groupby("org_id").size(),
            "engaged": per[per.week >= need].groupby("org_id").size(),
            "seats": seats.groupby("org_id").size(),
            "idle": seats[~seats.used].groupby("org_id").size(),
            "idle_measurable": seats[~seats.used & measurable].groupby("org_id").size(),
        }
    ).fillna(0)
    out["cost"] = out.seats * days * SEAT_PER_MONTH * 12 / 365 + cursor.reindex(out.index).fillna(0)
    return out.astype({c: int for c in ("active", "engaged", "seats", "idle", "idle_measurable")})


def run_cli(landing: Path, lake: Path, state: Path, conf: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THEATER_")}
    env["THEATER_PATHS__STATE"] = str(state)
    env["THEATER_TRACKING__ENABLED"] = "false"
    cmd = [sys.executable, "-m", "theater.cli", "run", "--conf", str(conf)]
    cmd += ["--landing", str(landing), "--lake", str(lake)]
    cmd += ["--start", START.isoformat(), "--end", END.isoformat()]
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"theater run failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return round(time.time() - t, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=44)
    ap.add_argument("--orgs", type=int, default=6)
    ap.add_argument("--users", type=int, default=240)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from theater import synth
    from theater.synth.exports import write_vendor_delivery

    root = Path(a.out or tempfile.mkdtemp(prefix="adoption-truth-"))
    nat, vend = root / "native", root / "vendor"
    t = time.time()
    synth.generate(
        nat,
        seed=a.seed,
        n_orgs=a.orgs,
        n_users=a.users,
        start=START,
        end=END,
        dirty=False,
        formats="parquet",
        progress=lambda m: None,
    )
    write_vendor_delivery(nat, vend, a.seed)
    gen_s = round(time.time() - t, 1)
    native = pd.read_parquet(nat / "landing" / "interactions")
    native["event_ts"] = pd.to_datetime(native.event_ts, utc=True, format="ISO8601")
    native = native[
        (native.event_ts >= pd.Timestamp(START, tz="UTC"))
        & (native.event_ts < pd.Timestamp(END, tz="UTC"))
    ]
    # each event's true org (the delivery files it under this one); the record's own org_id is
    # null on some rows
    orgs = pd.read_csv(nat / "truth" / "interactions.csv", usecols=["event_id", "tool", "org_id"])
    native = native.drop(columns=["org_id"]).merge(orgs, on=["event_id", "tool"], how="left")
    directory = pd.read_parquet(nat / "landing" / "directory")
    # each person's org on the period's last day (the org their seat is counted in)
    directory = directory.sort_values("valid_from").groupby("user_id").tail(1)
    stacks = pd.read_csv(vend / "truth" / "vendor_stacks.csv")
    seats = plant_seats(vend, native, stacks, directory)
    conf = root / "prices.yaml"
    prices = sorted(set(seats.tool))
    conf.write_text(
        "adoption:\n  prices:\n"
        + "".join(
            f"    - {{tool: {p}, effective_from: 2026-01-01, seat_per_month: {SEAT_PER_MONTH}}}\n"
            for p in prices
        )
    )
    run_s = run_cli(vend / "landing", vend / "lake", vend / "state", conf)
    gold = _table(vend / "lake" / "gold" / "org_adoption")
    gold = gold[gold.source_format == "all"].set_index("org_id")
    want = truth(native, seats, stacks)
    cols = ["active_users", "engaged_users", "licensed_seats", "idle_seats", "cost"]
    got = gold[cols + ["suppressed", "cost_source"]].rename(
        columns=dict(zip(cols, ["active", "engaged", "seats", "idle_measurable", "cost"]))
    )
    table = want.join(got, rsuffix="_got", lsuffix="_truth", how="outer")
    res = {
        "seed": a.seed,
        "orgs": a.orgs,
        "users": a.users,
        "start": START.isoformat(),
        "end": END.isoformat(),
        "generate_s": gen_s,
        "run_s": run_s,
        "stacks": stacks.to_dict(orient="records"),
        "orgs_table": table.reset_index().to_dict(orient="records"),
    }
    (root / "adoption_truth.json").write_text(json.dumps(res, indent=2, default=str))
    print(
        f"world: seed {a.seed}, {a.orgs} orgs, {a.users} users, {START}..{END}; "
        f"generate {gen_s}s, run {run_s}s; out {root}"
    )
    print(
        "| org | stack | active (truth/got) | engaged | seats | idle (truth, measurable/got) "
        "| cost (truth/got, source) |"
    )
    print("|---|---|---|---|---|---|---|")
    for org, r in table.iterrows():
        stack = ", ".join(stacks[stacks.org_id == org].format)

        def pair(c):
            g = r.get(f"{c}_got")
            g = "—" if g is None or (isinstance(g, float) and math.isnan(g)) else g
            return f"{r[c + '_truth']} / {g}"

        cost = r.get("cost_got")
        cost = "—" if cost is None or pd.isna(cost) else f"{cost:.2f}"
        print(
            f"| {org} | {stack} | {pair('active')} | {pair('engaged')} | {pair('seats')} | "
            f"{r['idle']}, {pair('idle_measurable')} | {r.cost_truth:.2f} / {cost} "
            f"({r.cost_source}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
