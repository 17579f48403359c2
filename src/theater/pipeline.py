"""The pipeline: stages in order, tracked as one MLflow run, under the lake's writer lock.

``theater run``, ``theater demo``, the jobs under ``jobs/`` and the Airflow DAGs all come here.

On the embedded Sail engine a run of several stages can give each stage its own process
(``spark.stage_processes``: ``auto``, the default, does so for runs that read 256 MB or more;
``always``; ``never``): the engine runs inside the Python process and its
allocator keeps what a stage freed, so one process would carry ingest's memory into refine and
refine's into score (``docs/scaling.md``, "Where memory goes"). This process keeps the MLflow
run and the lock; each stage process starts its own engine, runs the stage and sends back its
metrics, its log records and, on failure, its exception. A stage process dies with this one.
On Apache Spark and remote Spark Connect the engine's memory is not in this process, and under
``auto`` a process that already hosts a Sail server (nested use, tests) reuses it: stages run
in process.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import threading
import time
import traceback
import uuid
from contextlib import nullcontext
from pathlib import Path

from .config import Config, ConfigError
from .period import Period

log = logging.getLogger(__name__)

STAGES = ("ingest", "refine", "score")


def run_pipeline(
    cfg: Config,
    period: Period | None,
    stages=STAGES,
    *,
    landing: str | None = None,
    lake_root: str | None = None,
    progress=log.info,
    command: str = "run",
    wait: float | None = None,
) -> dict:
    """Run the stages in order (each in its own process where ``stage_processes`` says so),
    as one MLflow run, holding the lake's writer lock (``theater.lock``; ``wait``: seconds to
    wait for it); return each stage's metrics."""
    from .engine import session
    from .lake import Lake
    from .lock import lake_lock
    from .tracking import PipelineRun

    lake = Lake(lake_root or cfg.paths.lake, cfg.table_format)
    landing = landing or cfg.paths.landing
    _refuse_early(cfg, period, stages, landing, lake.root, command)
    results: dict = {"period": str(period) if period else None, "lake": lake.root}
    t_all = time.time()
    progress(
        f"engine {cfg.engine} ({cfg.table_format}); "
        f"{f'period {period}' if period else 'new landing files'}; lake {lake.root}"
    )
    if "://" not in lake.root:  # a lake behind a URL has no lock
        lake_lock(lake.root, "", cfg, wait).refuse_if_held()
    isolated = stage_processes(cfg, stages, landing=landing, lake_root=lake.root, progress=progress)
    _prepare_process(cfg, stages, lake.root, isolated)
    # the MLflow run is created in a background thread while the interpreter goes on. The lock
    # is taken before the engine starts: a busy lake is refused before a JVM or an engine is
    # paid for, and the engine stops before the lock is released. In this process the stages
    # start before the MLflow run exists: the lock names a provisional id until then, and
    # ingest asks for the run's id (`_RunId`) at its first validation, after its first engine
    # work. So does ingest's own process (its interpreter, imports and engine start, then its
    # first engine work, overlap the run's creation: `_IdFromParent`); later stage processes
    # are given the id when they start.
    provisional = uuid.uuid4().hex
    with (
        PipelineRun(cfg, period, lake.root, command, background=True) as tracked,
        lake_lock(lake.root, provisional, cfg, wait) as held,
        nullcontext() if isolated else session(cfg) as spark,
    ):
        run_id = _RunId(tracked, held, provisional)
        if tracked.enabled:
            from .tracking import tracking_uri

            results["tracking_uri"] = tracking_uri(cfg)
        results["mlflow"] = tracked.enabled
        if not isolated:
            results["startup_seconds"] = round(time.time() - t_all, 2)
        _run_stages(
            cfg,
            period,
            stages,
            lake.root,
            landing,
            run_id,
            tracked,
            spark,
            isolated,
            results,
            progress,
        )
        results["run_id"] = run_id()
    results["seconds"] = round(time.time() - t_all, 1)
    return results


def _prepare_process(cfg: Config, stages, lake_root: str, isolated: bool) -> None:
    """Imports (and, in one process, memory and collector settings) before the MLflow thread
    starts: it imports some of the same modules, and a module half-built by one thread fails
    the other's import, so one thread imports each, never two at once."""
    if isolated:
        # what starts a stage process
        import multiprocessing.connection  # noqa: F401
        import multiprocessing.popen_spawn_posix  # noqa: F401
        import multiprocessing.queues  # noqa: F401
        import multiprocessing.resource_tracker  # noqa: F401
        import multiprocessing.synchronize  # noqa: F401

        return
    # the engine's client modules (pandas, pyarrow, gRPC, protobuf)
    from .engine import preload_client

    return_freed_memory(cfg, stages, lake_root)
    preload_client(cfg)
    spare_collector()


# Python's cyclic collector: with its default schedule (a young collection every 700 new
# container objects) a 1M run in one process made 6-8 full collections, each walking every
# object the process holds (the modules of PySpark's client, pandas, pyarrow, gRPC, MLflow, GX:
# hundreds of thousands), 1.1-1.3 CPU s, most of it on the main thread between engine calls.
# A young collection every YOUNG_COLLECTION objects makes two: the collector's CPU in a 1M run
# 1.7-2.1 -> 0.9-1.0 s (benchmarks/RESULTS.md, "(wall at 1M, outside the stages)"; freezing
# the imported modules as well changed nothing more, and freezing them alone kept 7-8 full
# collections). Garbage in cycles is freed a little later, by collections ten times larger.
YOUNG_COLLECTION = 7_000


def spare_collector() -> None:
    """Collect young objects less often (a run in this process, or a stage process: score's
    full collections there 0.22 -> 0.06 CPU s at 4M; a larger threshold already set is kept)."""
    import gc

    young, middle, old = gc.get_threshold()
    if young < YOUNG_COLLECTION:
        gc.set_threshold(YOUNG_COLLECTION, middle, old)


class _RunId:
    """The run's id when first asked for: the MLflow run's (waiting for its creation), else
    the lock's; the lock is relabelled with the MLflow run's id once it exists."""

    def __init__(self, tracked, held, provisional: str):
        self.tracked, self.held, self.provisional = tracked, held, provisional
        self.value: str | None = None

    def __call__(self) -> str:
        if self.value is None:
            value = self.tracked.ready() or (self.held.run_id if self.held else self.provisional)
            if self.held is not None and self.held.run_id != value:
                self.held.relabel(value)
            self.value = value
        return self.value


def _refuse_early(cfg, period, stages, landing, lake_root, command) -> None:
    """Exit 2 before any work: a missing key, no landing folder, an unusable lake root, a lake
    written under another key, or no period for refine and score."""
    from .keycheck import pseudonym_key
    from .lock import check_lake_root

    if "refine" in stages:
        # refuse early, before any work, when the key is missing (refine warns about a demo key)
        pseudonym_key(cfg, announce=False)
    if "ingest" in stages and not Path(landing).is_dir():
        raise ConfigError(f"landing zone {landing!r} is not a folder (use --landing)")
    if "://" not in lake_root:
        check_lake_root(lake_root)  # a file or an unwritable folder: exit 2 before any work
        if set(stages) & {"refine", "score"}:
            from .keycheck import check_run

            check_run(cfg, lake_root, f"theater {command}")  # another key: exit 2, no work
    if period is None and set(stages) - {"ingest"}:
        raise ConfigError("refine and score need a period (--quarter, or --start and --end)")


def _run_stages(
    cfg, period, stages, lake_root, landing, run_id, tracked, spark, isolated, results, progress
) -> None:
    """Each stage in order, in this process or its own, tracked; the Data Docs rendered once
    after the last write (or a failure)."""
    docs: list = []  # the stages' Data Docs, rendered once the tables are published
    order = [s for s in STAGES if s in stages]
    # in this process a stage's Data Docs are rendered on a thread while the next stage runs
    # (GX was imported during the stages); the last stage's after it. With stage processes the
    # earlier stages' docs are rendered here while score's process runs, score's after it: GX
    # (115-130 MB in the parent at 4M) is not imported before score, whose peak is below
    # refine's
    ahead = _DocsAhead(tracked if isolated else None)
    try:
        for stage in order:
            t0 = time.time()
            progress(f"stage {stage}: start")
            with tracked.stage(stage):
                # ingest asks for the id at its first validation, in this process or its own
                rid = run_id if stage == "ingest" else run_id()
                args = (stage, cfg, lake_root, landing, period, rid)
                if isolated:
                    if stage == "score" and docs:
                        ahead.render(docs)
                        docs = []
                    try:
                        m, orgs = _in_own_process(*args)
                    finally:
                        # the docs thread's imports end before MLflow's thread logs again
                        ahead.wait()
                else:
                    # GX is imported meanwhile, in a background thread, from the first result
                    # kept for the Data Docs. Not in stage processes: GX would hold about 150
                    # MB in the parent through every stage's peak; there the parent imports it
                    # once score's process runs. Not during ingest either: its end is a string of short
                    # engine calls and file operations on this thread, each of which waits for
                    # the interpreter's lock while an import holds it, and it already shares
                    # its cores with the MLflow run's creation; GX is imported from ingest's
                    # end, beside the next stage's long engine calls (:class:`_DocsAhead`).
                    m, orgs = run_stage(
                        spark,
                        *args,
                        progress=progress,
                        defer_docs=True,
                        prewarm_docs=stage != "ingest",
                    )
                stage_docs = m.pop("dq_docs", [])
                if not isolated and stage != order[-1]:
                    ahead.render(stage_docs)
                else:
                    docs += stage_docs
                results[stage] = m
            tracked.record_stage(stage, m, time.time() - t0, _rows(stage, m))
            progress(f"stage {stage}: done in {time.time() - t0:.1f}s")
            if orgs is not None:
                results["orgs"] = orgs
                tracked.record_index(orgs)
    finally:
        t0 = time.time()
        ahead.wait()
        if docs:  # after the last write (or a failure): off the stages' path, GX once
            from .quality.docs import build_docs
            from .quality.runner import GX

            if isolated or not GX.started():
                # GX is first imported here, and MLflow's logging thread may be importing
                # too: two threads importing one module at once can fail ("cannot access
                # submodule 'ml' of module 'pyspark'"). In process, GX was imported during
                # the stages (but for a run of ingest alone) and the docs are rendered while
                # the logging thread writes.
                tracked.settle()

            build_docs(docs)
        if docs or ahead.used:
            results["data_docs_seconds"] = round(time.time() - t0, 2)


class _DocsAhead:
    """Renders Data Docs on one thread, in the order given (docs never fail a run:
    :func:`theater.quality.docs.build_docs` logs its errors).

    ``tracked``: the run of a pipeline whose stages run in their own processes; GX is then
    imported on the docs thread, once MLflow's logging thread is idle (this thread only waits
    for a stage process meanwhile, and the caller waits for the docs before logging again)."""

    def __init__(self, tracked=None):
        self.tracked = tracked
        self.pool = None
        self.used = False

    def render(self, docs: list) -> None:
        if not docs:
            return
        from concurrent.futures import ThreadPoolExecutor

        from .quality.docs import build_docs
        from .quality.runner import GX

        if self.tracked is None:
            # GX's import starts now (pyspark.ml first, on this thread), not from the docs
            # thread
            GX.prewarm()
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="data-docs")
        self.used = True
        if self.tracked is not None:
            self.pool.submit(self.tracked.settle)
        self.pool.submit(build_docs, docs)

    def wait(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


def run_stage(
    spark,
    stage,
    cfg,
    lake_root,
    landing,
    period,
    run_id,
    progress=log.info,
    defer_docs=False,
    prewarm_docs=False,
):
    """One stage on ``spark``: (its metrics, the period's org rows after score, else None).

    ``defer_docs``: the stage's Data Docs are not rendered but returned as data under
    ``dq_docs`` in the metrics (:func:`theater.quality.docs.build_docs` renders them);
    ``prewarm_docs``: GX is imported in a background thread from the first result kept (this
    process renders them)."""
    from .lake import Lake
    from .quality.docs import deferred_docs

    lake = Lake(lake_root, cfg.table_format)
    orgs = None
    # deferred: the gates keep their Data Docs as data (``dq_docs`` in the metrics) and the
    # pipeline renders them once, after the last stage
    with deferred_docs(prewarm_docs) if defer_docs else nullcontext([]) as docs:
        # only this stage's module: score's imports (scipy's statistics) cost about 0.8 CPU s,
        # which an ingest of new files alone does not need
        if stage == "ingest":
            from .stages import ingest

            m = ingest.run(spark, lake, landing, cfg=cfg, run_id=run_id, progress=progress)
        elif stage == "refine":
            from .stages import refine

            m = refine.run(spark, cfg, lake, period, run_id=run_id, progress=progress)
        else:
            from .stages import score

            m = score.run(spark, cfg, lake, period, run_id=run_id, progress=progress)
            orgs = org_rows(spark, lake, period)
    if docs:
        m["dq_docs"] = list(docs)
    return m, orgs


def _rows(stage: str, m: dict) -> int:
    if stage == "ingest":
        return sum(m["rows_loaded"].values()) + sum(m["rows_quarantined"].values())
    return m["silver_interactions"] if stage == "refine" else m["labelled_interactions"]


# ----------------------------------------------------------------------------- stage processes


class StageProcessError(RuntimeError):
    """A stage process ended without a result (killed, out of memory) or with an exception
    that cannot be sent back as it is."""


# spark.stage_processes=auto: a stage process costs a few seconds (interpreter, imports, engine
# start); below this much input the memory one stage leaves to the next is small. Measured on
# the 1M quarter (222 MB of landing files, benchmarks/RESULTS.md 2026-12-06): one process 69.3
# CPU s and a peak of 1,778 MB, against 73.2 CPU s and 2,176 MB for the process tree with a
# process per stage; at 4M (867 MB) one process carried each stage's memory into the next
# (RESULTS.md, "one process per stage"). 256 MB: the 1M quarter runs in one process.
AUTO_MIN_BYTES = 256 * 2**20


def stage_processes(
    cfg: Config, stages, *, landing=None, lake_root=None, progress=log.info
) -> bool:
    """Whether this run gives each stage its own process (module docstring;
    ``spark.stage_processes``)."""
    from .engine import _SailServer

    setting = cfg.spark.stage_processes
    if (
        setting == "never"
        or cfg.engine != "sail"
        or len([s for s in STAGES if s in stages]) < 2
        or progress != log.info  # a caller's own progress callback cannot cross processes
    ):
        return False
    if setting == "always":
        return True
    if _SailServer._server is not None:  # nested use (tests, notebooks): reuse that server
        return False
    size = _bytes_under(os.path.join(lake_root, "bronze", "interactions")) if lake_root else 0
    if "ingest" in stages and landing:
        size += _bytes_under(landing)
    return size >= AUTO_MIN_BYTES


# spark.return_freed_memory=auto: returning freed memory at once costs system CPU (score at 10M
# about +25%), and only a stage with many buckets climbs without it (engine.RETURN_FREED_ENV);
# 1 GiB of bronze interactions is about 24M interactions: the 10M quarter (0.4 GB) keeps
# mimalloc's default, the 50M quarter (2.0 GB) returns it.
RETURN_FREED_MIN_BYTES = 2**30


def return_freed_memory(cfg: Config, stages, lake_root) -> bool:
    """Whether the engine this process starts gives freed memory back at once
    (``spark.return_freed_memory``); when so, its allocator is told before it loads."""
    setting = cfg.spark.return_freed_memory
    if cfg.engine != "sail" or setting == "never":
        return False
    if setting == "auto":
        bronze = os.path.join(lake_root, "bronze", "interactions") if lake_root else ""
        if not ({"refine", "score"} & set(stages)) or (
            _bytes_under(bronze) < RETURN_FREED_MIN_BYTES
        ):
            return False
    from .engine import return_freed_memory as tell_allocator

    applies = tell_allocator()
    log.debug("engine: freed memory returned at once%s", "" if applies else " (too late here)")
    return applies


def _bytes_under(path: str) -> int:
    """Bytes of the files under ``path`` (0 when it does not exist; ``_delta_log`` left out)."""
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


class _IdFromParent:
    """A stage process's run id, received from the parent when the stage first asks for it
    (the parent sends it once the MLflow run exists)."""

    def __init__(self, conn):
        self.conn = conn
        self.value: str | None = None

    def __call__(self) -> str | None:
        if self.value is None:
            self.value = self.conn.recv()
            self.conn.close()
        return self.value


def _in_own_process(stage, cfg, lake_root, landing, period, run_id):
    """``run_stage`` in a fresh process on its own engine; its log records are written here.
    ``run_id``: the id, or a callable giving it (called once the process is started, its
    value sent to the process when the stage asks for it)."""
    import multiprocessing

    from . import logs

    ctx = multiprocessing.get_context("spawn")
    records = ctx.Queue()
    receive, send = ctx.Pipe(duplex=False)
    id_from = id_to = None
    if callable(run_id):
        id_from, id_to = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_stage_main,
        args=(send, records, logs.settings(), os.getpid(), stage, cfg, lake_root, landing)
        + (period, run_id if id_from is None else _IdFromParent(id_from), time.time()),
        name=f"theater-{stage}",
    )
    stop = threading.Event()
    relay = threading.Thread(target=logs.relay, args=(records, stop), daemon=True)
    relay.start()
    child.start()
    send.close()
    log.debug("stage %s: process %d", stage, child.pid)
    try:
        if id_to is not None:
            id_from.close()
            try:
                value = run_id()  # waits for the MLflow run (its failure stops the stage)
                try:
                    id_to.send(value)
                except OSError:  # the process ended before it asked: its outcome says why
                    pass
            finally:
                id_to.close()
        try:
            outcome = receive.recv()
        except EOFError:
            outcome = None
        child.join()
    finally:
        if child.is_alive():  # this process is being stopped (Ctrl-C): the stage stops too
            child.kill()
            child.join()
        stop.set()
        relay.join(timeout=10)
        records.cancel_join_thread()
        records.close()
        receive.close()
    if outcome is None:
        code = child.exitcode
        how = (
            f"was killed by signal {-code} ({signal.Signals(-code).name}; SIGKILL is often the "
            "out-of-memory killer)"
            if code is not None and code < 0
            else f"exited with code {code}"
        )
        raise StageProcessError(f"stage {stage}: its process {how} before it finished")
    if outcome[0] == "ok":
        return outcome[1], outcome[2]
    _, exc, summary, tb = outcome
    log.debug("stage %s failed in its process:\n%s", stage, tb)
    if exc is not None:
        raise pickle.loads(exc)
    raise StageProcessError(f"stage {stage} failed: {summary}")


def _die_with(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (no orphan keeps writing a lake
    whose lock died with the parent); exit now if the parent is already gone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent kills us when it can
        pass
    if os.getppid() != parent:
        os._exit(1)


def _stage_main(
    send, records, levels, parent, stage, cfg, lake_root, landing, period, run_id, started
):
    """Entry point of a stage process. It ends without the interpreter's teardown once its
    outcome is sent (:func:`_end_stage_process`)."""
    _die_with(parent)
    from . import logs
    from .engine import session

    logs.forward_to(records, levels)
    spare_collector()
    try:
        return_freed_memory(cfg, (stage,), lake_root)
        with session(cfg) as spark:
            # interpreter, imports and engine start of this process, reported apart
            startup = round(time.time() - started, 2)
            m, orgs = run_stage(
                spark, stage, cfg, lake_root, landing, period, run_id, defer_docs=True
            )
            m["startup_seconds"] = startup
        send.send(("ok", m, orgs))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        try:
            payload = pickle.dumps(exc)
            pickle.loads(payload)
        except Exception:  # noqa: BLE001 - an exception that does not survive pickling
            payload = None
        send.send(("error", payload, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        send.close()
        records.close()
        records.join_thread()
    _end_stage_process()


def _end_stage_process() -> None:
    """End a stage process whose outcome and log records are sent (the engine stopped, the
    lake written, nothing of it left open), without the interpreter's teardown: the collection
    of every object the stage's modules hold (PySpark's client, pandas, pyarrow, deltalake) cost
    each stage process 0.2-0.45 CPU s after its work, inside the parent's stage window
    (benchmarks/RESULTS.md, "(ingest's window accounted at 1M and 4M; ...)"); delta-rs can also
    abort the interpreter at shutdown (see :func:`theater.cli.exit_process`). The exit code is
    not read: the parent takes the outcome from the pipe, and its absence for a failure."""
    from . import logs

    logs.exit_now(0)


def org_rows(spark, lake, period: Period) -> list[dict]:
    """The period's gold org index as dicts, published orgs by index first, then suppressed."""
    gold = lake.read(spark, "gold/org_theater_index").where(period.matches_col())
    rows = [r.asDict() for r in gold.collect()]
    return sorted(rows, key=lambda r: (r["suppressed"], -(r["theater_index"] or 0), r["org_id"]))
