"""Sail against Apache Spark + Delta on the same quarter, in one invocation, checked.

    python benchmarks/engines.py [--users 4000] [--out benchmarks/out/engines]
                                 [--engines sail spark cluster] [--keep] [--reuse-data]
                                 [--check-only]

For each size: one quarter in mixed landing formats (compare.py's generator: seed 11, the
quarter of 2026Q3; 4,000 users is about 1M interactions), then, one after the other on the same
files, each into a lake of its own: the pipeline (ingest, refine, score; Delta, GX gates, MLflow)
on the embedded Sail engine (``sail``), on Apache Spark in local mode (``spark``: ``local[2]``,
the install step's Delta jars, driver memory 4 GiB), and by ``spark-submit jobs/run_all.py`` on
a standalone cluster of one Master and two Workers on 127.0.0.1 (``cluster``: 2 cores and
3 GiB each, one executor of 2 cores and 2 GiB per worker, started here and stopped by PID);
then the DuckDB reference on the same files.

CPU seconds: the sum over every process of the run's tree (and, for the cluster, the Master's
and Workers' trees, executors included, less what they had used before the run) of its own
user + system time, sampled from /proc every 0.2 s (a JVM that its Python parent does not wait
for is not in wait4's figure, so wait4 alone undercounts Apache Spark; it is given too).
Per stage (ingest, refine, score): wall and CPU s within the stage's window, the windows from
the child's stage seconds (local runs) or from the pipeline's JSON log lines "stage X: start" /
"done in" (the cluster's spark-submit, run with ``--log-format json``); CPU outside every
window (interpreter and JVM start, imports, MLflow, Data Docs) is ``outside``. The CPU timeline
is kept in ``run-<engine>/timeline.json``.
Peak RSS is the largest sum over the same processes. The load average (1 min) is sampled at the
same time: its mean and max over each run say how shared the machine was.

Honesty checks, per engine: the published org index equals Sail's row for row (every column
but ``run_id``; floats to 1e-9), the labels have the same rows per org, and DuckDB's org shares
against the lake as in compare.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402

EXECUTOR = {"cores": "2", "memory": "2g"}
WORKER_MEMORY = "3g"


def measured_tree(cmd, cwd: Path, env: dict, also: list[int] = (), timeout: int = 7200) -> dict:
    """Run ``cmd``; wall s, CPU s of its process tree and of the trees of the PIDs ``also``
    (their use before the start subtracted), wait4's CPU s, peak RSS MB, load average."""
    import psutil

    def tree(pid):
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def own(p):
        t = p.cpu_times()
        return t.user + t.system

    base = {}
    for pid in also:
        for p in tree(pid):
            try:
                base[(p.pid, p.create_time())] = own(p)
            except psutil.NoSuchProcess:
                pass
    last: dict = {}
    peak, loads = 0, []
    timeline: list[tuple[float, float]] = []  # (epoch s, CPU s of the trees so far)
    t0 = time.time()
    with open(cwd / "stdout.log", "w") as out, open(cwd / "stderr.log", "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
    status = usage = None
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            procs = [*tree(proc.pid), *[p for a in also for p in tree(a)]]
            rss = 0
            for p in procs:
                try:
                    last[(p.pid, p.create_time())] = own(p)
                    rss += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak = max(peak, rss)
            loads.append(os.getloadavg()[0])
            timeline.append((time.time(), sum(v - base.get(k, 0.0) for k, v in last.items())))
            if pid == proc.pid:
                break
            if time.time() - t0 > timeout:
                raise TimeoutError(f"{cmd[:3]} still running after {timeout} s")
            time.sleep(0.2)
    finally:
        if status is None:
            proc.kill()
            os.waitpid(proc.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    stdout = (cwd / "stdout.log").read_text(errors="replace")
    if rc != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd[:4]))}... failed ({rc}):\n{stdout[-2000:]}\n"
            + (cwd / "stderr.log").read_text(errors="replace")[-4000:]
        )
    cpu = sum(v - base.get(k, 0.0) for k, v in last.items())
    (cwd / "timeline.json").write_text(
        json.dumps([[round(t, 2), round(c, 2)] for t, c in timeline])
    )
    return {
        "t0": t0,
        "timeline": timeline,
        "wall_s": round(time.time() - t0, 1),
        "cpu_s": round(cpu, 1),
        "wait4_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(peak / 2**20),
        "load_mean": round(sum(loads) / len(loads), 1),
        "load_max": round(max(loads), 1),
        "stdout": stdout,
    }


def cpu_between(timeline: list, lo: float, hi: float) -> float:
    """CPU s of the sampled trees between epoch seconds ``lo`` and ``hi`` (the samples
    nearest inside the window; 0.2 s sampling)."""
    inside = [c for t, c in timeline if lo < t <= hi]
    before = [c for t, c in timeline if t <= lo]
    start = before[-1] if before else 0.0
    return round((inside[-1] if inside else start) - start, 1)


def stage_cpu(r: dict, windows: list[tuple[str, float, float]]) -> None:
    """Per-stage wall and CPU s into ``r`` (windows: name, start, end epoch s); what falls
    outside every window (start-up before the first stage, shut-down) as ``outside``."""
    tl = r["timeline"]
    r["stage_wall_s"] = {n: round(hi - lo, 1) for n, lo, hi in windows}
    r["stage_cpu_s"] = {n: cpu_between(tl, lo, hi) for n, lo, hi in windows}
    r["stage_cpu_s"]["outside"] = round(r["cpu_s"] - sum(r["stage_cpu_s"].values()), 1)


def log_windows(stderr: str) -> list[tuple[str, float, float]]:
    """Stage windows from the pipeline's JSON log lines ("stage X: start" ... "done in")."""
    from datetime import datetime

    starts, windows = {}, []
    for line in stderr.splitlines():
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        m = re.fullmatch(r"stage (\w+): (start|done in .*)", rec.get("message", ""))
        if not m:
            continue
        t = datetime.fromisoformat(rec["time"].replace("Z", "+00:00")).timestamp()
        if m.group(2) == "start":
            starts[m.group(1)] = t
        else:
            windows.append((m.group(1), starts.pop(m.group(1)), t))
    return windows


def theater_local(engine: str, landing: Path, d: Path) -> dict:
    settings = [f"engine={engine}"]
    if engine == "spark":
        settings.append("spark.conf={spark.driver.memory: 4g}")
    cwd = d / f"run-{engine}"
    cwd.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "compare.py"), "--child", "theater"]
    cmd += [str(landing), str(d / f"lake-{engine}"), "ingest,refine,score"]
    cmd += [f"--set={s}" for s in settings]
    r = measured_tree(cmd, cwd, compare.clean_env())
    result = next(
        json.loads(line[7:]) for line in r["stdout"].splitlines() if line.startswith("RESULT ")
    )
    windows, t = [], result["t_start"]
    for stage, secs in result["stages_s"].items():
        windows.append((stage, t, t + secs))
        t += secs
    stage_cpu(r, windows)
    r["startup_s"] = result.get("startup_s")
    return r


def theater_cluster(landing: Path, d: Path) -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "cluster"))
    import cluster_suite as cs

    from theater.engine import delta_jars

    work = d / "cluster"
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("logs", "scratch", "worker"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    m_port, m_ui = cs.free_port(), cs.free_port()
    cluster = cs.Cluster(
        master_url=f"spark://127.0.0.1:{m_port}",
        connect_url="",
        master_ui=f"http://127.0.0.1:{m_ui}",
        work=work,
        env=cs.spark_env(work),
    )
    spark_class = str(cs.spark_home() / "bin" / "spark-class")
    try:
        master = cs._start(
            cluster,
            "master",
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
            + ["--port", str(m_port), "--webui-port", str(m_ui)],
        )
        cs._wait(cluster, "the Master", lambda: cs._master_state(cluster)["status"] == "ALIVE")
        workers = []
        for i in (1, 2):
            workers.append(
                cs._start(
                    cluster,
                    f"worker{i}",
                    [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1"]
                    + ["--port", str(cs.free_port()), "--webui-port", str(cs.free_port())]
                    + ["--cores", EXECUTOR["cores"], "--memory", WORKER_MEMORY]
                    + ["--work-dir", str(work / "worker" / f"w{i}"), cluster.master_url],
                )
            )
        cs._wait(
            cluster,
            "two ALIVE workers",
            lambda: sum(w["state"] == "ALIVE" for w in cs._master_state(cluster)["workers"]) == 2,
        )
        conf = {
            **cs.APP_CONF,
            "spark.cores.max": str(2 * int(EXECUTOR["cores"])),
            "spark.executor.cores": EXECUTOR["cores"],
            "spark.executor.memory": EXECUTOR["memory"],
            "spark.driver.memory": "2g",
        }
        cmd = [str(cs.spark_home() / "bin" / "spark-submit"), "--master", cluster.master_url]
        cmd += ["--jars", ",".join(delta_jars())]
        for k, v in conf.items():
            cmd += ["--conf", f"{k}={v}"]
        cmd += [str(ROOT / "jobs" / "run_all.py"), "--engine", "spark", "--log-format", "json"]
        cmd += ["--landing", str(landing), "--lake", str(d / "lake-cluster")]
        cmd += ["--start", str(compare.START), "--end", str(compare.END)]
        cwd = d / "run-cluster"
        cwd.mkdir(parents=True, exist_ok=True)
        env = {**cluster.env, "THEATER_PATHS__STATE": str(d / "state-cluster")}
        r = measured_tree(cmd, cwd, env, also=[master.pid, *[w.pid for w in workers]])
        # spark-submit's Python driver may log to either stream
        logs = "".join((cwd / f).read_text(errors="replace") for f in ("stdout.log", "stderr.log"))
        stage_cpu(r, log_windows(logs))
        return r
    finally:
        cluster.stop()


def same_index(lake: Path, ref: Path) -> dict:
    """The org index against the reference lake's, row for row, and labels per org."""
    import pandas as pd
    from deltalake import DeltaTable

    def index(p):
        df = DeltaTable(str(p / "gold/org_theater_index")).to_pandas().drop(columns=["run_id"])
        return df.sort_values(["org_id", "period_start"]).reset_index(drop=True)

    def per_org(p):
        t = DeltaTable(str(p / "gold/interaction_labels")).to_pandas(columns=["org_id"])
        return t["org_id"].value_counts(dropna=False).sort_index()

    a, b = index(lake), index(ref)
    diff = []
    same_shape = list(a.columns) == list(b.columns) and len(a) == len(b)
    if same_shape:
        for c in a.columns:
            x, y = a[c], b[c]
            if pd.api.types.is_float_dtype(x):
                bad = ~(((x - y).abs() <= 1e-9) | (x.isna() & y.isna()))
            else:
                bad = ~((x.astype(str) == y.astype(str)) | (x.isna() & y.isna()))
            if bad.any():
                diff.append(c)
    return {
        "orgs": int(len(a)),
        "index_equal": bool(same_shape and not diff),
        "columns_differing": diff,
        "labels_per_org_equal": bool(per_org(lake).equals(per_org(ref))),
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, nargs="+", default=[4000])
    p.add_argument("--out", default=str(HERE / "out" / "engines"))
    p.add_argument("--engines", nargs="+", default=["sail", "spark", "cluster"])
    p.add_argument("--no-duckdb", action="store_true")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--parallel", action="store_true", help="the engines at the same time")
    p.add_argument("--reuse-data", action="store_true")
    p.add_argument(
        "--check-only",
        action="store_true",
        help="no runs: the checks on the lakes kept in OUT/u<users>/lake-<engine> (with --keep)",
    )
    a = p.parse_args()
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "cores": os.cpu_count(),
        "sizes": [],
    }

    def save():
        (out / "results.json").write_text(json.dumps(results, indent=2))

    for users in a.users:
        d = out / f"u{users}"
        landing = d / "data" / "landing"
        gen_file = d / "gen" / "result.json"
        if a.reuse_data and gen_file.exists():
            gen = json.loads(gen_file.read_text())
        else:
            gen = compare.run_child(
                "generate", [str(d / "data"), str(users), "mixed", "1.0", "1"], d / "gen"
            )
            gen_file.write_text(json.dumps(gen))
        n = gen["result"]["interactions"]
        row = {"users": users, "interactions": n, "runs": {}}
        print(f"== {users} users: {n:,} interactions", flush=True)

        def one(engine: str) -> None:
            if a.check_only:  # the checks on lakes an earlier invocation kept
                row["runs"][engine] = {}
                return
            for old in (f"lake-{engine}", f"state-{engine}"):
                shutil.rmtree(d / old, ignore_errors=True)
            print(f"   {engine} ...", flush=True)
            t_start = time.strftime("%H:%M", time.gmtime())
            try:
                r = theater_cluster(landing, d) if engine == "cluster" else None
                r = r or theater_local(engine, landing, d)
            except Exception as e:  # the other engines' figures and checks still count
                row["runs"][engine] = {"error": str(e)[-3000:]}
                print(f"   {engine} failed: {e}", flush=True)
                return
            for k in ("stdout", "timeline", "t0"):
                r.pop(k, None)
            r["utc"] = f"{t_start}-{time.strftime('%H:%M', time.gmtime())}"
            r["interactions_per_cpu_s"] = round(n / r["cpu_s"])
            row["runs"][engine] = r
            print(f"   {engine}: {r}", flush=True)
            save()

        if a.parallel:  # all at the same time (each one's CPU is its own processes')
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(a.engines)) as pool:
                list(pool.map(one, a.engines))
        else:
            for engine in a.engines:
                one(engine)
        ok = [e for e in a.engines if "error" not in row["runs"][e]]
        ref = "sail" if "sail" in ok else ok[0]
        for engine in ok:
            lake = d / f"lake-{engine}"
            if engine != ref:
                row["runs"][engine]["vs_" + ref] = same_index(lake, d / f"lake-{ref}")
        if not a.no_duckdb:
            duck = compare.run_duckdb(landing, d / "duck", [])
            row["duckdb"] = {k: duck[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}
            for engine in ok:
                row["runs"][engine]["check"] = compare.compare_shares(
                    d / f"lake-{engine}", d / "duck" / "org_shares.csv"
                )
        for engine in [] if a.check_only else ok:
            if engine != ref:
                row["runs"][engine]["cpu_ratio_vs_" + ref] = round(
                    row["runs"][engine]["cpu_s"] / row["runs"][ref]["cpu_s"], 2
                )
        results["sizes"].append(row)
        save()
        print(json.dumps(row, indent=1), flush=True)
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
