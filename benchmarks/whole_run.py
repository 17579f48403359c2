"""One whole ``theater run`` (ingest, refine, score) in a fresh child process, measured from
outside: wall, CPU (wait4: the process and its children), peak RSS, exit code, the machine's
load at start and end, and the time of each pipeline log line.

    python benchmarks/whole_run.py TREE OUT [--landing DIR] [--quarter 2026Q3]

``TREE``: a source tree (``TREE/src`` is the child's PYTHONPATH: an exported ``git archive``
for before/after pairs); ``OUT`` must not exist: the run's lake and state go under it, and
``OUT/whole.json`` holds the figures. Figures: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

KEEP = ("stage ", "MLflow run", "engine sail", "data quality", "theater:")
CODE = "import sys; from theater.cli import entry; sys.argv = ['theater'] + sys.argv[1:]; entry()"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tree")
    p.add_argument("out")
    p.add_argument("--landing", default="/tmp/speed/data/landing")
    p.add_argument("--quarter", default="2026Q3")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=False)
    conf = os.path.join(a.out, "conf.yaml")
    with open(conf, "w") as f:
        f.write(f"paths:\n  state: {a.out}/state\n")
    cmd = [sys.executable, "-c", CODE, "run", "--conf", conf, "--landing", a.landing]
    cmd += ["--lake", f"{a.out}/lake", "--quarter", a.quarter]
    env = dict(os.environ, PYTHONPATH=f"{a.tree}/src")
    load0 = os.getloadavg()[0]
    t0 = time.time()
    child = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines = [(round(time.time() - t0, 2), line.rstrip()[:110]) for line in child.stdout]
    _, status, ru = os.wait4(child.pid, 0)
    r = {
        "tree": a.tree,
        "wall": round(time.time() - t0, 2),
        "cpu": round(ru.ru_utime + ru.ru_stime, 2),
        "rss_mb": ru.ru_maxrss // 1024,
        "exit": os.waitstatus_to_exitcode(status),
        "load": [load0, os.getloadavg()[0]],
        "marks": [m for m in lines if any(k in m[1] for k in KEEP)],
        "last": lines[-3:],
    }
    with open(os.path.join(a.out, "whole.json"), "w") as f:
        json.dump(r, f, indent=1)
    print(json.dumps({k: r[k] for k in ("tree", "wall", "cpu", "rss_mb", "exit", "load")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
