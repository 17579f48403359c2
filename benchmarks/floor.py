"""The engine's floor: the reference SQL on the embedded engine (Sail) and on DuckDB, over the
same landing files, then the whole pipeline on those files, in one run, checked.

    python benchmarks/floor.py [--users 4000 16000] [--out benchmarks/out/floor]
                               [--reuse-data] [--keep] [--no-pipeline] [--set KEY=VALUE ...]

For each size: one quarter in mixed landing formats (compare.py's generator:
``synth.generate(seed=11, n_users=N, formats="mixed")``, the quarter of 2026Q3; 4,000 users is
about 1M interactions), then, each in a fresh process, one after the other on the same files:

* ``duckdb``: benchmarks/duckdb_reference.sql as written, statement by statement;
* ``sail``: the same statements in the Spark SQL dialect (benchmarks/floor_sail.sql, the
  shims marked there) on the embedded Sail engine, started as the pipeline starts it
  (``theater.engine.session`` with the local configuration);
* ``pipeline``: ``theater run``'s stages (compare.py's theater child: ingest, refine, score;
  Delta, GX gates, MLflow; default settings).

Both floors run in three timed steps, each ending in Parquet so that neither engine can
carry work over into the next step:

* ``landing``: every landing file of interactions and the directory read as text, the
  contract checks, the quarantine and the pseudonymized directory, the checked records
  written as Parquet (pipeline stage: ingest);
* ``silver``: typing, the latest delivery per (tool, event_id), the period, the org from the
  event or the directory, written as Parquet (pipeline stage: refine);
* ``signals``: the five signals, the theater probability, the org shares (pipeline stage:
  score).

DuckDB keeps its other tables in memory, as the reference does; Sail writes every table as
Parquet (over Spark Connect it has no in-memory table). Reading the landing files on Sail:
each format by one scan, the file told by a Hive-style partition key that sorts as the paths
do (Sail has no ``input_file_name``; the latest delivery orders by it), JSON arrays re-framed
as JSON lines in Python first (Sail reads no multi-line JSON; the pipeline does the same),
CSV and Parquet files grouped by their columns (a scan takes one file's schema), JSON text
parsed once into a struct of the contract's fields as text (and, for the few rows
without the first field, into a map, to tell a malformed line from an empty object).

Measured per step in the child: CPU seconds of the process (getrusage: the engine's threads
are in it) and wall seconds; per child: wall, CPU (wait4) and peak RSS of the process tree
(sampled every 0.2 s), and the load average (1 min) sampled every 2 s. The pipeline's CPU
per stage: its stage processes' CPU when it runs them (``spark.stage_processes``), else its
process CPU between the stage's log lines.

The floors must agree, or the run fails: the same orgs with the same interaction and user
counts and suppression, theater shares equal within ``SHARE_TOLERANCE``, the same silver rows
and the same quarantine counts per dataset and reason. Prints Markdown tables and writes
results.json into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import threading
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

START, END = date(2026, 7, 1), date(2026, 10, 1)
DEMO_KEY = "theater-index-demo-key-not-for-production"
# both engines compute a mean of doubles; only the summation order differs
SHARE_TOLERANCE = 1e-9
STEPS = ("landing", "silver", "signals")
STEP_OF = {
    "checked_interactions": "landing",
    "checked_directory": "landing",
    "quarantine": "landing",
    "directory": "landing",
    "silver": "silver",
    "action_thresholds": "signals",
    "repeat_hits": "signals",
    "fragments": "signals",
    "labels": "signals",
    "org_shares": "signals",
}
STAGE_OF_STEP = {"landing": "ingest", "silver": "refine", "signals": "score"}
# the step boundaries: these tables are written as Parquet by DuckDB too
PARQUET_TABLES = ("checked_interactions", "silver")
DATASETS = ("interactions", "directory")


class FloorMismatch(AssertionError):
    """The two engines' floors disagree: the figures cannot be compared."""


# ----------------------------------------------------------------------------- SQL handling


def split_quoted(sql: str) -> list[tuple[str, str]]:
    """``sql`` as (kind, text) pieces, kind "code", "string" (a literal, quotes included; ''
    inside is an escaped quote) or "comment" (``--`` to the end of the line)."""
    out, i, n, code = [], 0, len(sql), []
    while i < n:
        ch = sql[i]
        if ch == "'":
            k = i + 1
            while True:
                k = sql.find("'", k)
                if k < 0:
                    raise ValueError(f"unterminated string literal at {i}: {sql[i : i + 40]!r}")
                if k + 1 < n and sql[k + 1] == "'":
                    k += 2
                    continue
                break
            kind, end = "string", k + 1
        elif sql.startswith("--", i):
            k = sql.find("\n", i)
            kind, end = "comment", n if k < 0 else k
        else:
            code.append(ch)
            i += 1
            continue
        if code:
            out.append(("code", "".join(code)))
            code = []
        out.append((kind, sql[i:end]))
        i = end
    if code:
        out.append(("code", "".join(code)))
    return out


def _outside_literals(sql: str, fn) -> str:
    """``fn`` applied to the code pieces of ``sql``; literals and comments kept."""
    return "".join(fn(t) if kind == "code" else t for kind, t in split_quoted(sql))


def strip_comments(sql: str) -> str:
    return "".join(t for kind, t in split_quoted(sql) if kind != "comment")


MACRO = re.compile(
    r"^\s*CREATE\s+TEMP\s+MACRO\s+(\w+)\s*\(([^)]*)\)\s+AS\s+(.*?);?\s*$", re.S | re.I
)
TABLE = re.compile(r"^\s*CREATE\s+TEMP\s+TABLE\s+(\w+)\s+AS\s+(.*?);?\s*$", re.S | re.I)


def _call_args(sql: str, open_at: int) -> tuple[list[str], int]:
    """The top-level comma-separated arguments of the call whose '(' is at ``open_at``, and the
    index just past its ')'. String literals may hold commas and parentheses."""
    depth, args, cur, i = 0, [], [], open_at
    pieces = split_quoted(sql[open_at:])
    for kind, text in pieces:
        if kind != "code":
            cur.append(text)
            i += len(text)
            continue
        for ch in text:
            i += 1
            if ch == "(":
                depth += 1
                if depth == 1:
                    continue
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    args.append("".join(cur).strip())
                    return args, i
            elif ch == "," and depth == 1:
                args.append("".join(cur).strip())
                cur = []
                continue
            cur.append(ch)
    raise ValueError(
        f"unbalanced parentheses in call at {open_at}: {sql[open_at : open_at + 60]!r}"
    )


def expand_macros(sql: str, macros: dict[str, tuple[list[str], str]]) -> str:
    """Each call ``name(a, b)`` of a macro replaced by its body with every parameter (outside
    string literals) replaced by ``(argument)``; calls inside arguments expanded first."""
    if not macros:
        return sql
    call = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, macros)) + r")\s*\(", re.I)
    out, pos = [], 0
    pieces = split_quoted(sql)
    # positions of calls outside literals
    offset = 0
    starts = []
    for kind, text in pieces:
        if kind == "code":
            starts += [(offset + m.start(), m) for m in call.finditer(text)]
        offset += len(text)
    if not starts:
        return sql
    for at, m in starts:
        if at < pos:  # inside an argument of a call already expanded
            continue
        name = m.group(1).lower()
        params, body = macros[name]
        args, end = _call_args(sql, at + len(m.group(0)) - 1)
        if len(args) != len(params):
            raise ValueError(f"macro {name} takes {len(params)} arguments, got {len(args)}: {args}")
        args = [expand_macros(a, macros) for a in args]
        sub = dict(zip(params, args))
        pat = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, params)) + r")(?!\w)")
        expanded = _outside_literals(body, lambda t: pat.sub(lambda x: f"({sub[x.group(1)]})", t))
        out += [sql[pos:at], f"({expanded})"]
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def substitute_variables(sql: str, values: dict[str, str]) -> str:
    """``getvariable('name')`` -> the literal ``values[name]`` (already SQL text)."""

    def one(m):
        name = m.group(1)
        if name not in values:
            raise KeyError(f"getvariable('{name}'): no value given")
        return values[name]

    return re.sub(r"getvariable\('(\w+)'\)", one, sql)


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def plan(sql_text: str, expand: bool = True) -> list[tuple[str, str, str]]:
    """The script as (step, table or '', statement), comments dropped; with ``expand``, macro
    calls expanded and the definitions dropped. A statement that creates no table (a macro,
    INSERT) belongs to the step of the table statement before it."""
    from duckdb_reference import statements

    macros: dict[str, tuple[list[str], str]] = {}
    out, step = [], STEPS[0]
    for s in statements(sql_text):
        body = strip_comments(s)
        m = MACRO.match(body)
        if m:
            params = [p.strip().lower() for p in m.group(2).split(",") if p.strip()]
            macros[m.group(1).lower()] = (params, m.group(3).strip())
            if expand:
                continue
        t = TABLE.match(body)
        table = t.group(1).lower() if t else ""
        if table:
            if table not in STEP_OF:
                raise ValueError(f"table {table}: no step assigned (floor.STEP_OF)")
            step = STEP_OF[table]
        text = expand_macros(body, macros) if expand and not m else body
        out.append((step, table, text.strip().rstrip(";")))
    return out


# ----------------------------------------------------------------------------- measurement


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Steps:
    """CPU and wall seconds of this process per named step."""

    def __init__(self):
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}

    def __call__(self, name: str):
        steps = self

        class _Span:
            def __enter__(self):
                self.c, self.t = _cpu(), time.time()

            def __exit__(self, *exc):
                steps.cpu[name] = round(steps.cpu.get(name, 0.0) + _cpu() - self.c, 2)
                steps.wall[name] = round(steps.wall.get(name, 0.0) + time.time() - self.t, 2)

        return _Span()


class LoadSampler:
    """The 1-minute load average every ``every`` seconds while in the block."""

    def __init__(self, every: float = 2.0):
        self.every, self.samples = every, []
        self._stop = threading.Event()

    def __enter__(self):
        def run():
            while True:
                self.samples.append(os.getloadavg()[0])
                if self._stop.wait(self.every):
                    return

        self._t = threading.Thread(target=run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def summary(self) -> dict:
        s = self.samples or [os.getloadavg()[0]]
        return {"mean": round(sum(s) / len(s), 1), "max": round(max(s), 1)}


# ----------------------------------------------------------------------------- DuckDB floor


def duckdb_floor(landing: str, scratch: str, key: str) -> dict:
    import duckdb
    from duckdb_reference import landing_view

    sc = Path(scratch)
    shutil.rmtree(sc, ignore_errors=True)
    sc.mkdir(parents=True)
    steps = Steps()
    with steps("start"):
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET VARIABLE pseudonym_key = $1", [key])
        con.execute(f"SET VARIABLE period_start = DATE '{START}'")
        con.execute(f"SET VARIABLE period_end = DATE '{END}'")
        script = plan((HERE / "duckdb_reference.sql").read_text(), expand=False)
    with steps("landing"):
        for d in DATASETS:
            landing_view(con, Path(landing), d)
    for step, table, stmt in script:
        with steps(step):
            if table in PARQUET_TABLES:
                query = TABLE.match(stmt).group(2)
                path = sc / f"{table}.parquet"
                con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet)")
                con.execute(f"CREATE TEMP VIEW {table} AS SELECT * FROM read_parquet('{path}')")
            else:
                con.execute(stmt)
    shares = con.execute("SELECT * FROM org_shares ORDER BY org_id").df()
    return {
        "steps_cpu_s": steps.cpu,
        "steps_wall_s": steps.wall,
        "org_shares": shares.to_dict(orient="list"),
        "silver_rows": con.execute("SELECT count(*) FROM silver").fetchone()[0],
        "quarantined": {
            f"{a}/{b}": n
            for a, b, n in con.execute(
                "SELECT dataset, reason_kind, count(*) FROM quarantine GROUP BY ALL"
            ).fetchall()
        },
    }


# ----------------------------------------------------------------------------- Sail floor


def _farm(root: Path, files: list[tuple[str, str]]) -> str:
    """Link each (key, path) into ``root/file=<key>/`` so that one scan of ``root`` reads them
    all with the key as a column."""
    for k, p in files:
        d = root / f"file={k}"
        d.mkdir(parents=True, exist_ok=True)
        os.symlink(p, d / Path(p).name)
    return str(root)


def _csv_header(path: str) -> tuple[str, ...]:
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        return tuple(next(csv.reader(fh), []))


def sail_landing_view(spark, landing: Path, dataset: str, scratch: Path) -> dict[str, int]:
    """CREATE VIEW landing_<dataset> on Sail: the rows of every landing file as text, with
    ``source_file`` (a key that sorts as the paths do) and ``malformed``, as
    duckdb_reference.landing_view gives them."""
    import pyarrow.parquet as pq
    from duckdb_reference import FIELDS, landing_files
    from pyspark.sql import functions as F

    from theater.sources.landing import json_to_lines

    fields = FIELDS[dataset]
    by_fmt = landing_files(landing, dataset)
    ordered = sorted(p for fl in by_fmt.values() for p in fl)
    width = len(str(len(ordered)))
    key = {p: str(i).zfill(width) for i, p in enumerate(ordered)}
    farm = scratch / "farm" / dataset
    parts = []

    record = "struct<" + ",".join(f"`{f}`:string" for f in fields) + ">"

    def text_part(root: str):
        lines = spark.read.text(root).where(F.trim("value") != "")
        rec = F.from_json("value", record)
        # A line that is not a JSON object parses to a struct of nulls; telling it from an
        # object without these fields takes a parse into a map (null if not an object), about
        # nine times the struct's cost on Sail, so only for rows without an event_id (or
        # user_id, the directory's key).
        first = rec.getField(fields[0])
        malformed = F.when(first.isNotNull(), F.lit(False)).otherwise(
            F.from_json("value", "map<string,string>").isNull()
        )
        return lines.select(
            F.lpad(F.col("file").cast("string"), width, "0").alias("source_file"),
            malformed.alias("malformed"),
            *[rec.getField(f).alias(f) for f in fields],
        )

    def columnar_part(df, have: set[str]):
        return df.select(
            F.lpad(F.col("file").cast("string"), width, "0").alias("source_file"),
            F.lit(False).alias("malformed"),
            *[
                (F.col(f).cast("string") if f in have else F.lit(None).cast("string")).alias(f)
                for f in fields
            ],
        )

    plain = [(key[p], p) for p in by_fmt.get("jsonl", [])]
    arrays = by_fmt.get("json", [])
    if arrays:
        framed = scratch / "framed" / dataset
        framed.mkdir(parents=True, exist_ok=True)
        for p in arrays:
            out = framed / f"{key[p]}.jsonl"
            json_to_lines(p, str(out))
            plain.append((key[p], str(out)))
    if plain:
        parts.append(text_part(_farm(farm / "text", plain)))
    gz = [(key[p], p) for p in by_fmt.get("jsonl_gz", [])]
    if gz:  # Sail refuses mixed compression in one scan
        parts.append(text_part(_farm(farm / "text-gz", gz)))
    groups: dict[tuple, list[tuple[str, str]]] = {}
    for p in by_fmt.get("csv", []):
        groups.setdefault(("csv", _csv_header(p)), []).append((key[p], p))
    for p in by_fmt.get("parquet", []):
        shape = tuple((f.name, str(f.type)) for f in pq.read_schema(p))
        groups.setdefault(("parquet", shape), []).append((key[p], p))
    for g, ((kind, shape), files) in enumerate(groups.items()):
        root = _farm(farm / f"{kind}-{g}", files)
        if kind == "csv":
            df = spark.read.option("header", True).csv(root)
            have = set(shape)
        else:
            df = spark.read.parquet(root)
            have = {n for n, _ in shape}
        parts.append(columnar_part(df, have))
    if not parts:
        raise ValueError(f"{landing / dataset}: no landing files")
    view = parts[0]
    for p in parts[1:]:
        view = view.unionByName(p)
    view.createOrReplaceTempView(f"landing_{dataset}")
    return {fmt: len(fl) for fmt, fl in by_fmt.items()}


def sail_floor(landing: str, scratch: str, key: str, spark=None) -> dict:
    """The Sail floor; with ``spark``, on that session (a test's), else on one started as the
    pipeline starts it (its start-up is the step ``start``)."""
    if spark is not None:
        return _sail_floor(spark, landing, scratch, key, Steps())
    from theater.config import load_config
    from theater.engine import session

    steps = Steps()
    with steps("start"):
        cfg = load_config(env="local", overrides={"paths.state": str(Path(scratch) / "state")})
        ctx = session(cfg)
        spark = ctx.__enter__()
    try:
        return _sail_floor(spark, landing, scratch, key, steps)
    finally:
        ctx.__exit__(None, None, None)


def _sail_floor(spark, landing: str, scratch: str, key: str, steps: Steps) -> dict:
    sc = Path(scratch)
    shutil.rmtree(sc, ignore_errors=True)
    sc.mkdir(parents=True)
    variables = {
        "pseudonym_key": sql_string(key),
        "period_start": f"DATE '{START}'",
        "period_end": f"DATE '{END}'",
    }
    script = [
        (step, table, substitute_variables(stmt, variables))
        for step, table, stmt in plan((HERE / "floor_sail.sql").read_text())
    ]
    if spark.conf.get("spark.sql.session.timeZone") != "UTC":
        raise RuntimeError("the Sail floor needs spark.sql.session.timeZone = UTC, as DuckDB's run")
    with steps("landing"):
        for d in DATASETS:
            sail_landing_view(spark, Path(landing), d, sc)
    for step, table, stmt in script:
        if not table:
            raise ValueError(f"a statement that creates no table: {stmt[:60]!r}")
        with steps(step):
            path = str(sc / "tables" / table)
            df = spark.sql(TABLE.match(stmt).group(2))
            df.write.mode("overwrite").parquet(path)
            # with its schema: a table with no rows (a clean quarter's quarantine) is a folder
            # without files, from which no schema can be read
            spark.read.schema(df.schema).parquet(path).createOrReplaceTempView(table)
    shares = spark.sql("SELECT * FROM org_shares ORDER BY org_id").toPandas()
    return {
        "steps_cpu_s": steps.cpu,
        "steps_wall_s": steps.wall,
        "org_shares": shares.to_dict(orient="list"),
        "silver_rows": spark.sql("SELECT count(*) FROM silver").collect()[0][0],
        "quarantined": {
            f"{r[0]}/{r[1]}": r[2]
            for r in spark.sql(
                "SELECT dataset, reason_kind, count(*) FROM quarantine GROUP BY dataset, reason_kind"
            ).collect()
        },
    }


# ----------------------------------------------------------------------------- agreement


def check_agreement(duck: dict, sail: dict, tolerance: float = SHARE_TOLERANCE) -> dict:
    """Raise FloorMismatch naming every difference between the two floors' results."""
    problems = []
    if duck["silver_rows"] != sail["silver_rows"]:
        problems.append(f"silver rows: DuckDB {duck['silver_rows']}, Sail {sail['silver_rows']}")
    if duck["quarantined"] != sail["quarantined"]:
        problems.append(f"quarantine: DuckDB {duck['quarantined']}, Sail {sail['quarantined']}")
    d = {r["org_id"]: r for r in _rows(duck["org_shares"])}
    s = {r["org_id"]: r for r in _rows(sail["org_shares"])}
    if set(d) != set(s):
        problems.append(
            f"orgs only in DuckDB {sorted(set(d) - set(s))}, only in Sail {sorted(set(s) - set(d))}"
        )
    worst = 0.0
    for org in sorted(set(d) & set(s)):
        a, b = d[org], s[org]
        for col in ("n_interactions", "n_users", "suppressed"):
            if _norm(a[col]) != _norm(b[col]):
                problems.append(f"{org} {col}: DuckDB {a[col]}, Sail {b[col]}")
        diff = abs(float(a["theater_share"]) - float(b["theater_share"]))
        worst = max(worst, diff)
        if not diff <= tolerance:
            problems.append(
                f"{org} theater_share: DuckDB {a['theater_share']!r}, Sail {b['theater_share']!r} "
                f"(differ by {diff:.3g} > {tolerance:g})"
            )
    if problems:
        raise FloorMismatch("the floors disagree:\n  " + "\n  ".join(problems))
    return {
        "orgs": len(d),
        "max_abs_share_diff": worst,
        "tolerance": tolerance,
        "silver_rows": duck["silver_rows"],
        "quarantined": duck["quarantined"],
    }


def _rows(cols: dict) -> list[dict]:
    n = len(next(iter(cols.values()), []))
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def _norm(v):
    return bool(v) if isinstance(v, bool) or type(v).__name__ == "bool_" else int(v)


# ----------------------------------------------------------------------------- orchestration


def run_floor_child(engine: str, landing: Path, d: Path) -> dict:
    from compare import clean_env, measured

    d.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", engine, str(landing), str(d / "scratch")]
    with LoadSampler() as load:
        r = measured(cmd, d, clean_env(PYTHONPATH=str(ROOT / "src")))
    r["load"] = load.summary()
    shutil.rmtree(d / "scratch", ignore_errors=True)
    return r


def run_pipeline_child(landing: Path, d: Path, settings: list[str]) -> dict:
    from before_after import measured_tree
    from compare import clean_env

    for sub in ("lake", "state"):
        shutil.rmtree(d / sub, ignore_errors=True)
    cmd = [sys.executable, str(HERE / "compare.py"), "--child", "theater"]
    cmd += [str(landing), str(d / "lake"), "ingest,refine,score", *[f"--set={s}" for s in settings]]
    with LoadSampler() as load:
        r = measured_tree(cmd, d, clean_env(PYTHONPATH=str(ROOT / "src")))
    r["load"] = load.summary()
    res = r["result"]
    stages = ("ingest", "refine", "score")
    if len(r["stage_process_cpu_s"]) == len(stages):
        r["stage_cpu_s"] = dict(zip(stages, r["stage_process_cpu_s"]))
        r["stage_cpu_from"] = "stage processes"
    else:
        r["stage_cpu_s"] = {s: res["process_cpu_s"].get(s) for s in stages}
        r["stage_cpu_from"] = "one process, between the stage log lines"
    r["stage_wall_s"] = {s: res["stages_s"][s] for s in stages}
    r["gates_s"] = round(sum(res.get("dq_s", {}).values()), 2)
    return r


def summarize(floors: dict, pipe: dict | None) -> list[dict]:
    """Rows per stage and total: each engine's CPU and wall, and the pipeline's ratios."""
    rows = []
    for step in (*STEPS, "total"):
        row = {"step": step, "stage": STAGE_OF_STEP.get(step, "total")}
        for eng, f in floors.items():
            res = f["result"]
            if step == "total":
                row[f"{eng}_cpu_s"] = round(sum(res["steps_cpu_s"][s] for s in STEPS), 2)
                row[f"{eng}_wall_s"] = round(sum(res["steps_wall_s"][s] for s in STEPS), 2)
            else:
                row[f"{eng}_cpu_s"] = res["steps_cpu_s"][step]
                row[f"{eng}_wall_s"] = res["steps_wall_s"][step]
        if pipe is not None:
            if step == "total":
                row["pipeline_cpu_s"], row["pipeline_wall_s"] = pipe["cpu_s"], pipe["wall_s"]
            else:
                stage = STAGE_OF_STEP[step]
                row["pipeline_cpu_s"] = pipe["stage_cpu_s"][stage]
                row["pipeline_wall_s"] = pipe["stage_wall_s"][stage]
            for eng in floors:
                for m in ("cpu", "wall"):
                    den = row[f"{eng}_{m}_s"]
                    num = row[f"pipeline_{m}_s"]
                    row[f"pipeline_over_{eng}_{m}"] = (
                        round(num / den, 2) if num is not None and den else None
                    )
        rows.append(row)
    return rows


def markdown(size: dict) -> str:
    f, p = size["floors"], size.get("pipeline")
    out = [
        f"{size['interactions']:,} interactions ({size['users']:,} users, "
        f"{size['landing_mb']:,.0f} MB of landing files); CPU s (wall s)",
        "",
        "| step (pipeline stage) | DuckDB | Sail floor | Sail / DuckDB CPU |"
        + (
            " pipeline | pipeline / floor, CPU (wall) | pipeline / DuckDB, CPU (wall) |"
            if p
            else ""
        ),
        "|---|---:|---:|---:|" + ("---:|---:|---:|" if p else ""),
    ]
    for r in size["table"]:
        name = f"{r['step']} ({r['stage']})" if r["step"] != "total" else "**total**"
        line = (
            f"| {name} | {r['duckdb_cpu_s']:.2f} ({r['duckdb_wall_s']:.2f}) "
            f"| {r['sail_cpu_s']:.2f} ({r['sail_wall_s']:.2f}) "
            f"| {r['sail_cpu_s'] / r['duckdb_cpu_s']:.2f}x |"
        )
        if p:
            pc, pw = r["pipeline_cpu_s"], r["pipeline_wall_s"]
            line += (
                f" {pc:.1f} ({pw:.1f}) | {r['pipeline_over_sail_cpu']:.2f}x "
                f"({r['pipeline_over_sail_wall']:.2f}x) | {r['pipeline_over_duckdb_cpu']:.2f}x "
                f"({r['pipeline_over_duckdb_wall']:.2f}x) |"
            )
        out.append(line)
    procs = [("DuckDB", f["duckdb"]), ("Sail floor", f["sail"])] + ([("pipeline", p)] if p else [])
    out += [
        "",
        "| process | CPU s | wall s | start-up CPU s | peak RSS MB | load avg mean (max) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in procs:
        start = r["result"].get("steps_cpu_s", {}).get("start")
        if start is None and "process_cpu_s" in r["result"]:
            start = r["result"]["process_cpu_s"].get("before")
        out.append(
            f"| {name} | {r['cpu_s']} | {r['wall_s']} | {start if start is not None else ''} "
            f"| {r['peak_rss_mb']:,} | {r['load']['mean']} ({r['load']['max']}) |"
        )
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, nargs="*", default=[4000, 16000])
    p.add_argument("--out", default=str(HERE / "out" / "floor"))
    p.add_argument("--reuse-data", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the generated landing files")
    p.add_argument("--no-pipeline", action="store_true", help="the two floors only")
    p.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args()
    key = os.environ.get("THEATER_PSEUDONYM_KEY") or DEMO_KEY
    if a.child:
        fn = {"duckdb": duckdb_floor, "sail": sail_floor}[a.child]
        r = fn(a.args[0], a.args[1], key)
        print("RESULT " + json.dumps(r, default=str), flush=True)
        return 0

    import platform

    from compare import run_child, size_mb

    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = {
        "machine": f"{os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "share_tolerance": SHARE_TOLERANCE,
        "sizes": [],
    }

    def save():
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str))

    for users in a.users:
        d = out / f"u{users}"
        landing = d / "data" / "landing"
        gen_file = d / "gen" / "result.json"
        if a.reuse_data and gen_file.exists() and landing.is_dir():
            gen = json.loads(gen_file.read_text())
        else:
            print(f"== {users} users: generating (mixed formats)", flush=True)
            gen = run_child(
                "generate", [str(d / "data"), str(users), "mixed", "1.0", "1"], d / "gen"
            )
            gen_file.write_text(json.dumps(gen))
        n = gen["result"]["interactions"]
        print(f"== {users} users: {n:,} interactions, {size_mb(landing):.0f} MB", flush=True)
        floors = {}
        for engine in ("duckdb", "sail"):
            floors[engine] = run_floor_child(engine, landing, d / f"floor-{engine}")
            f = floors[engine]
            print(
                f"   {engine} floor: {f['cpu_s']} CPU s, {f['wall_s']} s, {f['peak_rss_mb']} MB, "
                f"steps CPU {f['result']['steps_cpu_s']}, load {f['load']}",
                flush=True,
            )
        size = {
            "users": users,
            "interactions": n,
            "landing_mb": round(size_mb(landing), 1),
            "floors": floors,
            "started": time.strftime("%H:%M UTC", time.gmtime()),
        }
        results["sizes"].append(size)
        size["check"] = check_agreement(floors["duckdb"]["result"], floors["sail"]["result"])
        print(f"   floors agree: {size['check']}", flush=True)
        for f in floors.values():
            f["result"].pop("org_shares")
        save()
        if not a.no_pipeline:
            size["pipeline"] = run_pipeline_child(landing, d / "pipeline", a.settings)
            pp = size["pipeline"]
            print(
                f"   pipeline: {pp['cpu_s']} CPU s, {pp['wall_s']} s, {pp['peak_rss_mb']} MB, "
                f"stages CPU {pp['stage_cpu_s']} ({pp['stage_cpu_from']}), load {pp['load']}",
                flush=True,
            )
            shutil.rmtree(d / "pipeline" / "lake", ignore_errors=True)
        size["table"] = summarize(floors, size.get("pipeline"))
        size["finished"] = time.strftime("%H:%M UTC", time.gmtime())
        save()
        print(markdown(size), flush=True)
        if not a.keep:
            shutil.rmtree(d / "data", ignore_errors=True)
    save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
