"""Per run and stage, from ``wall_timeline.py --json`` files: CPU s, wall s, and the cores the
process asked for, which the machine's load does not change.

``asked``: the mean over the stage's 0.1 s samples with at least one thread of the process
running or waiting for a core of min(those threads, the machine's cores). On a shared machine
wall follows the load; ``asked`` says how many cores a stage's work could use on an idle one,
and CPU / asked is its wall there if nothing else waits. ``<=1``: the share of those samples
with one thread wanting a core (a plan, or a phase of one, on one core), and of refine's
silver copy (the table refine's gate validates and publishes from: refine's main plan).

    python benchmarks/wall_asked.py RUN.json [RUN.json ...] [--steps]

``--steps``: the same for each of score's steps too (between two of its log lines), with
CPU / asked: the step's wall on an idle machine if its work kept that many cores busy.
"""

from __future__ import annotations

import json
import os
import sys

STAGES = ("ingest", "refine", "score")


def stage_windows(d: dict) -> list[tuple[float, float, float, str | None]]:
    """(start, end, CPU s, stage or None) of each step, on the samples' clock."""
    # the steps run from the first mark to the last; the total wall is the last mark's time
    t = d["wall"] - sum(r["wall"] for r in d["steps"])
    out, cur = [], None
    for r in d["steps"]:
        s = r["step"]
        if s.startswith("stage ") and s.endswith(": start"):
            cur = s.split()[1].rstrip(":")
        out.append((t, t + r["wall"], r["cpu"], cur))
        t += r["wall"]
        if s.startswith("stage ") and ": done" in s:
            cur = None
    return out


def asked(d: dict, cores: int) -> dict[str, list[float]]:
    """stage -> [CPU s, wall s, samples with a thread asking, sum of min(threads, cores),
    samples with one thread]."""
    res: dict[str, list[float]] = {}
    runnable = d["runnable"]
    for a, b, cpu, st in stage_windows(d):
        v = res.setdefault(st or "other", [0.0, 0.0, 0, 0.0, 0])
        v[0] += cpu
        v[1] += b - a
        for t, r in runnable:
            if a <= t < b and r >= 1:
                v[2] += 1
                v[3] += min(r, cores)
                v[4] += r == 1
    return res


def step_rows(d: dict, cores: int) -> list[str]:
    """One line per step of the score stage: CPU s, asked, <=1 share, CPU / asked."""
    out = []
    for (a, b, cpu, st), r in zip(stage_windows(d), d["steps"]):
        if st != "score":
            continue
        inside = [x for t, x in d["runnable"] if a <= t < b and x >= 1]
        if not inside:
            continue
        k = sum(min(x, cores) for x in inside) / len(inside)
        one = sum(1 for x in inside if x == 1) / len(inside)
        out.append(
            f"      {cpu:6.2f} CPU, asked {k:.2f} (<=1 {one:4.0%}), CPU/asked {cpu / k:6.2f}  {r['step'][:60]}"
        )
    return out


def silver_copy(d: dict) -> str:
    calls = [c for c in d["calls"] if "measure.py:53:copy" in c[4]]
    if not calls:
        return "-"
    c = max(calls, key=lambda c: c[1])  # refine's silver/interactions: the longest copy
    inside = [r for t, r in d["runnable"] if c[0] <= t < c[0] + c[1] and r >= 1]
    one = sum(1 for r in inside if r == 1) / max(len(inside), 1)
    return f"{c[1]:.1f} s, {c[2]:.1f} CPU s, <=1 {one:.0%}"


def main() -> int:
    cores = os.cpu_count() or 1
    with_steps = "--steps" in sys.argv
    for path in [a for a in sys.argv[1:] if a != "--steps"]:
        d = json.load(open(path))
        res = asked(d, cores)
        cells = []
        for st in (*STAGES, "other"):
            v = res.get(st)
            if v and v[2]:
                a = v[3] / v[2]
                cells.append(
                    f"{st} {v[0]:.1f} CPU, {v[1]:.1f} wall, asked {a:.2f} (<=1 {v[4] / v[2]:.0%})"
                )
        print(f"{os.path.basename(path)}: {d['cpu']:.1f} CPU s, {d['wall']:.1f} wall s")
        print("   " + "; ".join(cells))
        print(f"   refine's silver copy: {silver_copy(d)}")
        if with_steps:
            print("\n".join(step_rows(d, cores)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
