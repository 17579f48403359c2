"""Theater (Sail, Delta, DQ gates, MLflow) against a hand-written DuckDB job, on text formats.

    python benchmarks/compare.py [--users 4000 16000] [--out benchmarks/out/compare]
                                 [--format-users 4000] [--no-formats] [--set KEY=VALUE ...]
                                 [--shards K] [--no-duckdb] [--keep] [--reuse-data]

A quarter too large to generate in one piece (about 0.86 GB of generator memory per million
interactions): ``--users 200000 --shards 5`` generates five namespaced worlds one after the
other into one landing zone (about 50M interactions; RESULTS.md).

For each size: generate a quarter in mixed landing formats (``synth.generate(...,
formats="mixed")``: jsonl, jsonl.gz, json, csv, parquet, and the directory and policies), then
run the theater pipeline (``run_pipeline``, all stages, default configuration: Sail, Delta, GX
gates, MLflow) and benchmarks/duckdb_reference.py on the same files, each in a fresh
subprocess. Wall time is the subprocess's; peak RSS is the largest sum of RSS over the
subprocess and all its descendants, sampled from /proc (psutil) every 0.2 s.

Honesty check: DuckDB's org shares against theater's published index (which also carries the
incentive weights the reference leaves out: Spearman and max abs difference) and against the
five-signal share recomputed from theater's gold/interaction_labels (should agree to 1e-9).

Ingest throughput per format (``--format-users``): one quarter generated as Parquet, its
interaction files rewritten as all .jsonl, all .jsonl.gz, all .csv (and the Parquet kept),
then the ingest stage alone on each (theater) and reading + contract checks alone (DuckDB).
Prints Markdown tables and writes results.json into --out.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from process_use import rss_of, tree_of

HERE = Path(__file__).resolve().parent
START, END = date(2026, 7, 1), date(2026, 10, 1)
SEED = 11


# ----------------------------------------------------------------------------- measurement


def measured(cmd: list[str], cwd: Path, env: dict | None = None, timeout: int = 7200) -> dict:
    """Run ``cmd``; return wall seconds, CPU seconds (user + system of the process and the
    descendants it waited for, from wait4), peak RSS (MB) of its process tree, output.

    CPU seconds are the figure to compare on a shared machine: wall time grows with the other
    processes' load, CPU time much less.
    """
    import psutil

    t0 = time.time()
    with open(cwd / "stdout.log", "w") as out, open(cwd / "stderr.log", "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
    peak, status, usage = 0, None, None
    timeline: list[tuple[float, int]] = []  # (epoch s, RSS bytes of the tree)
    root = psutil.Process(proc.pid)
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            total = rss_of(tree_of(root))
            peak = max(peak, total)
            timeline.append((time.time(), total))
            if time.time() - t0 > timeout:
                raise TimeoutError(f"{cmd[:4]} still running after {timeout} s")
            time.sleep(0.2)
    finally:
        if status is None:
            proc.kill()
            os.waitpid(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    rc = proc.returncode
    wall = time.time() - t0
    cpu = usage.ru_utime + usage.ru_stime
    stdout = (cwd / "stdout.log").read_text(errors="replace")
    result = None
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    if rc != 0 or result is None:
        raise RuntimeError(
            f"{' '.join(cmd[:4])}... failed ({rc}):\n{stdout[-2000:]}\n"
            + (cwd / "stderr.log").read_text(errors="replace")[-4000:]
        )
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(peak / 2**20),
        "result": result,
        "stage_peak_rss_mb": stage_peaks(timeline, result),
    }


def stage_peaks(timeline: list[tuple[float, int]], result: dict) -> dict:
    """Peak RSS (MB) of the process tree within each stage's window, the windows laid end to
    end from the pipeline's start (``t_start``) by the stage seconds the child reports."""
    if not isinstance(result, dict) or "t_start" not in result:
        return {}
    peaks, t = {}, result["t_start"]
    bounds = []
    for stage, secs in result.get("stages_s", {}).items():
        bounds.append((stage, t, t + secs))
        t += secs
    for stage, lo, hi in bounds:
        inside = [r for ts, r in timeline if lo <= ts <= hi]
        peaks[stage] = round(max(inside) / 2**20) if inside else None
    return peaks


def clean_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THEATER_") or k == "THEATER_PSEUDONYM_KEY"
    }
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- children


def child_generate(out: str, users: int, formats: str, rate_scale: float, shards: int = 1) -> dict:
    """One quarter of ``users`` users. With ``shards`` > 1, a company too large to generate in
    one piece: ``shards`` worlds of ``users // shards`` users, seeds SEED, SEED + 1, ..., their
    identifiers prefixed ``s1-``, ``s2-``, ... (``synth.generate(namespace=)``), each generated,
    moved under ``landing/<dataset>/shard-<k>/`` and freed before the next."""
    from theater import synth

    def world(path: Path, n_users: int, seed: int, namespace: str = "") -> dict:
        kw = dict(start=START, end=END, formats=formats, rate_scale=rate_scale)
        n_orgs = max(24, n_users // 600)
        return synth.generate(
            path, seed=seed, n_orgs=n_orgs, n_users=n_users, namespace=namespace, **kw
        )

    if shards <= 1:
        return {"interactions": world(Path(out), users, SEED)["interactions"]}
    landing = Path(out) / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    per, total = users // shards, 0
    for k in range(1, shards + 1):
        part = Path(out) / f"_shard-{k}"
        s = world(part, per, SEED + k - 1, f"s{k}-")
        for dataset in sorted(p.name for p in (part / "landing").iterdir()):
            dst = landing / dataset / f"shard-{k}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(part / "landing" / dataset), str(dst))
        shutil.rmtree(part)
        total += s["interactions"]
        print(f"shard {k} of {shards}: {s['interactions']:,} interactions", flush=True)
    return {"interactions": total, "shards": shards}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _StageMarks(logging.Handler):
    """The process CPU at each of the pipeline's "stage S: start" / "done" lines."""

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[str, float]] = []

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("stage ") and (": start" in msg or ": done" in msg):
            self.marks.append((msg, _cpu()))

    def spans(self, end: float) -> dict:
        out: dict = {}
        starts = {m.split(":")[0][6:]: c for m, c in self.marks if ": start" in m}
        for m, c in self.marks:
            if ": done" in m:
                stage = m.split(":")[0][6:]
                out[stage] = round(c - starts[stage], 2)
        if self.marks:
            out["before"] = round(self.marks[0][1], 2)
            out["after"] = round(end - self.marks[-1][1], 2)
        return out


def child_theater(landing: str, lake: str, stages: list[str], settings: list[str]) -> dict:
    import yaml

    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline

    overrides = {"paths.state": str(Path(lake).parent / "state")}
    for item in settings:
        k, _, v = item.partition("=")
        overrides[k] = yaml.safe_load(v)
    cfg = load_config(env="local", overrides=overrides)
    t_start = time.time()
    marks = _StageMarks()
    logging.getLogger("theater.pipeline").addHandler(marks)
    logging.getLogger("theater.pipeline").setLevel(logging.INFO)
    res = run_pipeline(
        cfg, Period.parse(start=str(START), end=str(END)), stages, landing=landing, lake_root=lake
    )
    return {
        # this process's CPU (the embedded engine's threads included) between the pipeline's
        # "stage S: start" and "done" lines; "before" is up to the first stage's start (imports,
        # MLflow, engine start), "after" from the last stage's end to the return (Data Docs).
        # Under stage processes a stage's CPU is in its own process, not here.
        "process_cpu_s": marks.spans(_cpu()),
        "stages_s": {s: res[s]["seconds"] for s in stages},
        "seconds": res["seconds"],
        "t_start": t_start,
        # the gates' own seconds (validation, results, docs) and staged copies, per stage
        "dq_s": {s: res[s].get("dq_seconds", 0.0) for s in stages},
        "dq_staging_s": {s: res[s].get("dq_staging_seconds", 0.0) for s in stages},
        "startup_s": {s: res[s].get("startup_seconds") for s in stages},
        "data_docs_s": res.get("data_docs_seconds"),
    }


def run_duckdb(landing: Path, out: Path, args: list[str]) -> dict:
    """benchmarks/duckdb_reference.py on ``landing`` for the quarter, measured, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / "duckdb_reference.py"), "--landing", str(landing)]
    cmd += ["--start", str(START), "--end", str(END), "--out", str(out), *args]
    return measured(cmd, out, clean_env())


def run_child(kind: str, args: list[str], cwd: Path, env: dict | None = None) -> dict:
    cwd.mkdir(parents=True, exist_ok=True)
    return measured([sys.executable, __file__, "--child", kind, *args], cwd, env or clean_env())


# ----------------------------------------------------------------------------- comparison


def compare_shares(lake: Path, duck_csv: Path) -> dict:
    """DuckDB's org shares against theater's index and its five-signal share."""
    import pandas as pd
    from deltalake import DeltaTable
    from scipy.stats import spearmanr

    def read(table: str, columns=None):
        if (lake / table / "_delta_log").is_dir():
            return DeltaTable(str(lake / table)).to_pandas(columns=columns)
        import pyarrow.dataset as ds  # table_format=parquet

        return (
            ds.dataset(str(lake / table), format="parquet", exclude_invalid_files=True)
            .to_table(columns=columns)
            .to_pandas()
        )

    idx = read("gold/org_theater_index")
    labels = read(
        "gold/interaction_labels",
        [
            "org_id",
            "sig_unused_output",
            "sig_self_summary",
            "sig_repeat_prompt",
            "sig_fragmentation",
            "sig_padding",
        ],
    )
    keep = 1.0
    for c in [c for c in labels.columns if c.startswith("sig_")]:
        keep = keep * (1.0 - labels[c].astype("float64").fillna(0.0))
    labels["p5"] = 1.0 - keep
    five = labels.dropna(subset=["org_id"]).groupby("org_id")["p5"].agg(["mean", "size"])
    duck = pd.read_csv(duck_csv).set_index("org_id")
    m = (
        idx.set_index("org_id")[["theater_index", "n_interactions", "n_users"]]
        .join(duck.add_prefix("duck_"), how="outer")
        .join(five, how="outer")
    )
    both = m.dropna(subset=["theater_index", "duck_theater_share"])
    published = m.dropna(subset=["n_users"])
    return {
        "orgs": {
            "theater": int(idx["org_id"].nunique()),
            "duckdb": int(len(duck)),
            "both": int(len(both)),
        },
        "spearman_vs_index": round(
            float(spearmanr(both["theater_index"], both["duck_theater_share"])[0]), 4
        ),
        "max_abs_diff_vs_index_points": round(
            float((both["theater_index"] - 100 * both["duck_theater_share"]).abs().max()), 3
        ),
        "max_abs_diff_vs_five_signal_share": float(
            (m["mean"] - m["duck_theater_share"]).abs().max()
        ),
        "same_interaction_counts": bool((m["size"] == m["duck_n_interactions"]).all()),
        # suppressed orgs publish no figures (n_users null): compared over published orgs
        "same_user_counts": bool(
            (published["n_users"] == published["duck_n_users"]).all() and len(published) > 0
        ),
        "published_orgs_compared": int(len(published)),
    }


# ----------------------------------------------------------------------------- formats


def rewrite_landing(src: Path, dst: Path, fmt: str) -> None:
    """Copy a Parquet landing zone, rewriting the interaction files as ``fmt``."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("interactions"))
    for p in sorted((src / "interactions").rglob("*.parquet")):
        rel = p.relative_to(src)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            shutil.copyfile(p, out)
            continue
        table = pq.read_table(p)
        base = str(out)[: -len(".parquet")]
        if fmt == "csv":
            keep = [
                n
                for n in table.column_names
                if not str(table.schema.field(n).type).startswith("struct")
            ]
            pacsv.write_csv(table.select(keep), base + ".csv")
            continue
        lines = "".join(
            json.dumps(
                {k: v for k, v in r.items() if v is not None}, separators=(",", ":"), default=str
            )
            + "\n"
            for r in table.to_pylist()
        ).encode()
        if fmt == "jsonl":
            Path(base + ".jsonl").write_bytes(lines)
        else:
            with gzip.open(base + ".jsonl.gz", "wb", compresslevel=6) as fh:
                fh.write(lines)


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


# ----------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, nargs="*", default=[4000, 16000])
    p.add_argument("--rate-scale", type=float, default=1.0)
    p.add_argument(
        "--shards",
        type=int,
        default=1,
        help="generate each size as this many namespaced worlds (for sizes that do not fit "
        "in memory in one piece, e.g. --users 200000 --shards 5 for about 50M interactions)",
    )
    p.add_argument(
        "--no-duckdb", action="store_true", help="theater only (no DuckDB reference, no check)"
    )
    p.add_argument("--format-users", type=int, default=4000)
    p.add_argument("--no-formats", action="store_true")
    p.add_argument("--out", default=str(HERE / "out" / "compare"))
    p.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    p.add_argument("--keep", action="store_true", help="keep generated data and lakes")
    p.add_argument(
        "--reuse-data",
        action="store_true",
        help="reuse a quarter generated by an earlier --keep run in --out (same seed and size)",
    )
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    p.add_argument(
        "--sail-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for the theater runs, e.g. SAIL_MODE=local-cluster",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child == "generate":
        r = child_generate(
            a.args[0], int(a.args[1]), a.args[2], float(a.args[3]), int((a.args + ["1"])[4])
        )
    elif a.child == "theater":
        stages = a.args[2].split(",")
        r = child_theater(a.args[0], a.args[1], stages, a.settings)
    if a.child:
        print("RESULT " + json.dumps(r), flush=True)
        if a.child == "theater":
            # ended as the `theater` console script ends a run (no interpreter teardown), so
            # that the process's wall is what `theater run` costs
            from theater.cli import exit_process

            exit_process(0)
        return 0

    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "machine": f"{os.cpu_count()} cores, "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"{platform.platform()}, Python {platform.python_version()}",
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "sizes": [],
        "formats": [],
    }
    duck_args = ["--threads", str(a.threads)] if a.threads else []
    theater_env = clean_env(**dict(x.split("=", 1) for x in a.sail_env))
    results["theater_env"] = a.sail_env

    def save():
        (out / "results.json").write_text(json.dumps(results, indent=2))

    for users in a.users:
        d = out / f"u{users}"
        landing = d / "data" / "landing"
        gen_file = d / "gen" / "result.json"
        if a.reuse_data and gen_file.exists() and landing.is_dir():
            print(f"== {users} users: reusing {landing}", flush=True)
            gen = json.loads(gen_file.read_text())
        else:
            print(f"== {users} users: generating (mixed formats)", flush=True)
            gen = run_child(
                "generate",
                [str(d / "data"), str(users), "mixed", str(a.rate_scale), str(a.shards)],
                d / "gen",
            )
            gen_file.write_text(json.dumps(gen))
        for old in ("lake", "state", "duck"):
            shutil.rmtree(d / old, ignore_errors=True)
        print(
            f"   {gen['result']['interactions']:,} interactions, {size_mb(landing):.0f} MB; "
            "theater ...",
            flush=True,
        )
        th = run_child(
            "theater",
            [
                str(landing),
                str(d / "lake"),
                "ingest,refine,score",
                *[f"--set={s}" for s in a.settings],
            ],
            d / "theater",
            theater_env,
        )
        print(
            f"   theater {th['wall_s']} s ({th['cpu_s']} CPU s), {th['peak_rss_mb']} MB "
            f"(stages {th['result']['stages_s']}, peaks MB {th['stage_peak_rss_mb']}); DuckDB ...",
            flush=True,
        )
        row = {
            "users": users,
            "interactions": gen["result"]["interactions"],
            "shards": gen["result"].get("shards", 1),
            "landing_mb": round(size_mb(landing), 1),
            "interaction_files_mb": round(size_mb(landing / "interactions"), 1),
            "theater": {k: th[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "stage_peak_rss_mb")}
            | th["result"],
        }
        if not a.no_duckdb:
            duck = run_duckdb(landing, d / "duck", duck_args)
            check = compare_shares(d / "lake", d / "duck" / "org_shares.csv")
            row["duckdb"] = {k: duck[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")} | {
                "seconds": duck["result"]["seconds"],
                "silver_rows": duck["result"]["silver_rows"],
                "quarantined": duck["result"]["quarantined"],
            }
            row["check"] = check
            print(
                f"   DuckDB {duck['wall_s']} s ({duck['cpu_s']} CPU s), {duck['peak_rss_mb']} MB; "
                f"check {check}",
                flush=True,
            )
        results["sizes"].append(row)
        save()
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)

    if not a.no_formats:
        d = out / f"formats-u{a.format_users}"
        print(f"== ingest per format, {a.format_users} users", flush=True)
        gen = run_child(
            "generate",
            [str(d / "parquet-src"), str(a.format_users), "parquet", str(a.rate_scale), "1"],
            d / "gen",
        )
        for fmt in ("jsonl", "jsonl.gz", "csv", "parquet"):
            landing = d / f"landing-{fmt}"
            rewrite_landing(d / "parquet-src" / "landing", landing, fmt)
            mb = size_mb(landing / "interactions")
            # a lake kept by an earlier --keep run has these files already: ingest would skip them
            for old in (f"lake-{fmt}", f"duck-{fmt}"):
                shutil.rmtree(d / old, ignore_errors=True)
            th = run_child(
                "theater",
                [
                    str(landing),
                    str(d / f"lake-{fmt}"),
                    "ingest",
                    *[f"--set={s}" for s in a.settings],
                ],
                d / f"theater-{fmt}",
                theater_env,
            )
            duck = run_duckdb(landing, d / f"duck-{fmt}", ["--stage", "ingest", *duck_args])
            ing = th["result"]["stages_s"]["ingest"]
            dsec = duck["result"]["seconds"]["ingest"]
            row = {
                "format": fmt,
                "interactions": gen["result"]["interactions"],
                "interaction_files_mb": round(mb, 1),
                "theater_ingest_s": ing,
                "theater_mb_s": round(mb / ing, 1),
                "theater_peak_rss_mb": th["peak_rss_mb"],
                "theater_process_cpu_s": th["cpu_s"],
                "theater_process_wall_s": th["wall_s"],
                "duckdb_ingest_s": dsec,
                "duckdb_mb_s": round(mb / dsec, 1),
                "duckdb_peak_rss_mb": duck["peak_rss_mb"],
                "duckdb_process_cpu_s": duck["cpu_s"],
            }
            print(f"   {row}", flush=True)
            results["formats"].append(row)
            save()
            if not a.keep:
                shutil.rmtree(landing, ignore_errors=True)
                shutil.rmtree(d / f"lake-{fmt}", ignore_errors=True)
        if not a.keep:
            shutil.rmtree(d / "parquet-src", ignore_errors=True)

    print(f"\nmachine: {results['machine']}; started {results['started']}")
    print(f"command: {results['command']}\n")
    print(
        "| interactions | landing MB | theater s (CPU s) | DuckDB s (CPU s) | wall ratio "
        "| CPU ratio | theater peak RSS MB | DuckDB peak RSS MB | RSS ratio | Spearman vs index "
        "| max diff vs index (points) | max diff vs 5-signal share |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["sizes"]:
        t = r["theater"]
        if "duckdb" not in r:
            print(
                f"| {r['interactions']:,} | {r['landing_mb']:,.0f} | {t['wall_s']} ({t['cpu_s']}) "
                f"| not run | | | {t['peak_rss_mb']:,} | | | | | |"
            )
            continue
        k, c = r["duckdb"], r["check"]
        print(
            f"| {r['interactions']:,} | {r['landing_mb']:,.0f} | {t['wall_s']} ({t['cpu_s']}) | "
            f"{k['wall_s']} ({k['cpu_s']}) | {t['wall_s'] / k['wall_s']:.1f}x | "
            f"{t['cpu_s'] / k['cpu_s']:.1f}x | {t['peak_rss_mb']:,} | {k['peak_rss_mb']:,} | "
            f"{t['peak_rss_mb'] / k['peak_rss_mb']:.1f}x | {c['spearman_vs_index']} | "
            f"{c['max_abs_diff_vs_index_points']} | {c['max_abs_diff_vs_five_signal_share']:.1e} |"
        )
    if results["formats"]:
        print(
            "\n| format (interaction files only) | MB | theater ingest stage s | theater MB/s "
            "| theater ingest-only process CPU s | DuckDB read+check s | DuckDB MB/s "
            "| DuckDB process CPU s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in results["formats"]:
            print(
                f"| {r['format']} | {r['interaction_files_mb']:,.0f} | {r['theater_ingest_s']} | "
                f"{r['theater_mb_s']} | {r['theater_process_cpu_s']} | {r['duckdb_ingest_s']} | "
                f"{r['duckdb_mb_s']} | {r['duckdb_process_cpu_s']} |"
            )
    save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
