"""MLflow tracking: one run per pipeline run (a child run per stage), enough to reproduce it.

Default store, with no setup: SQLite at ``<paths.state>/mlflow.db`` with artifacts in
``<paths.state>/mlartifacts``; a new one is a copy of the empty store built once per installed
MLflow (:mod:`theater.mlflow_template`). ``MLFLOW_TRACKING_URI`` (or ``tracking.uri`` in the config)
points at an MLflow server instead. Experiment: ``tracking.experiment`` (``theater-index``).

What a run holds:
- params: the resolved configuration (flattened, ``cfg.*``), period, engine, environment, lake
  root, git commit; ``lineage.<table>``: the Delta version each stage read (``in``) and wrote
  (``out``), also as ``lineage.json``;
- metrics: rows written per table, quarantined rows, orgs scored and suppressed, the index
  distribution (mean, median, p90), each signal's mean across orgs, wall time and interactions
  per second per stage;
- artifacts: the org index (MLflow table and CSV), the resolved config (YAML), DQ results;
- tags: quarter, engine, environment, status (a failed run is marked FAILED with its error).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .config import Config

log = logging.getLogger(__name__)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

PARENT_TAG = "theater.kind"


_SET_BY_US: set[str] = set()  # mlflow.set_tracking_uri exports the env var; ignore our own
HOST_TAG, PID_TAG, PROC_TAG = "theater.host", "theater.pid", "theater.proc_start"


def _user_env_uri() -> str | None:
    """MLFLOW_TRACKING_URI as the user set it (not the value our own set_tracking_uri left)."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    return env if env and env not in _SET_BY_US else None


def tracking_uri(cfg: Config) -> str:
    uri = _user_env_uri() or cfg.tracking.uri
    if uri:
        return uri
    state = Path(cfg.paths.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{state / 'mlflow.db'}"


_READY: set[str] = set()


def _init_store_once(uri: str) -> None:
    """Create a local SQLite store under an exclusive file lock: two runs starting together on
    a fresh store otherwise race in MLflow's schema migration (one of them failed with
    "expected to match one row when updating ... alembic_version")."""
    if uri in _READY or not uri.startswith("sqlite:///"):
        return
    import fcntl

    import mlflow

    db = Path(uri[len("sqlite:///") :])
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(str(db) + ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            copied = not db.exists() and _new_store(db)
            try:
                mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
            except Exception as exc:
                if not copied:
                    raise
                # MLflow refused the copy (its schema check): the store is built here instead
                log.warning("MLflow store copied from the template refused (%s): rebuilt", exc)
                _forget_engine(uri)  # its pooled connections hold the refused file
                db.unlink(missing_ok=True)
                _create_store(db)
                mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    _READY.add(uri)


def _forget_engine(uri: str) -> None:
    """Drop MLflow's cached SQLAlchemy engine for ``uri`` (where this MLflow keeps one)."""
    try:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        engine = SqlAlchemyStore._engine_map.pop(uri, None)
    except (ImportError, AttributeError):
        return
    if engine is not None:
        engine.dispose()


def _new_store(db: Path) -> bool:
    """Create the store ``db``: a copy of the installed MLflow's template store (see
    :mod:`theater.mlflow_template`; built first when missing), else by MLflow's migrations
    (:func:`_create_store`). True when it was copied."""
    from .mlflow_template import template

    source = template()
    if source is None:
        _create_store(db)
        return False
    _copy_store(source, db)
    return True


def _copy_store(source: Path, db: Path) -> None:
    """Copy ``source`` to a scratch file, sync it, link it into place (never over a store
    another client created meanwhile): the store appears whole or not at all."""
    import shutil

    scratch = db.with_name(f"{db.name}.new-{os.getpid()}")
    scratch.unlink(missing_ok=True)
    try:
        shutil.copyfile(source, scratch)
        with open(scratch, "rb") as f:
            os.fsync(f.fileno())
        _link_into_place(scratch, db)
    finally:
        scratch.unlink(missing_ok=True)


def _link_into_place(scratch: Path, db: Path) -> None:
    try:
        os.link(scratch, db)  # never over a store another client created meanwhile
    except FileExistsError:
        return
    fd = os.open(db.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_store(db: Path) -> None:
    """Create MLflow's tables in a new SQLite file (a new store when there is no template
    store, and the template itself) without a sync per statement, then sync it
    once and link it into place. MLflow's schema migrations commit about 70 times, each
    synced to disk (about 1,100 fdatasync calls: 4-5 s of a run's start-up wall on a busy
    disk, with about 1 CPU s); built in a scratch file, the store appears whole or not at
    all, so a crash during creation leaves no half-made store. Where MLflow's table set-up
    is not found (another MLflow version), MLflow creates the store itself on first use; a
    store that another MLflow client created meanwhile is kept, not replaced."""
    import sqlalchemy

    try:
        from mlflow.store.db.utils import _initialize_tables
    except ImportError:
        return
    scratch = db.with_name(f"{db.name}.new-{os.getpid()}")
    scratch.unlink(missing_ok=True)
    engine = sqlalchemy.create_engine(f"sqlite:///{scratch}")

    @sqlalchemy.event.listens_for(engine, "connect")
    def _unsynced(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA journal_mode=MEMORY")

    try:
        _initialize_tables(engine)
        engine.dispose()
        with open(scratch, "rb") as f:
            os.fsync(f.fileno())
        _link_into_place(scratch, db)
    finally:
        engine.dispose()
        scratch.unlink(missing_ok=True)


def _client(cfg: Config):
    import mlflow

    uri = tracking_uri(cfg)
    _init_store_once(uri)
    before = os.environ.get("MLFLOW_TRACKING_URI")
    if before != uri:
        # only a URI the user did not give is "ours": a user's MLFLOW_TRACKING_URI stays
        # honoured on every later call (it was dropped after the first one)
        _SET_BY_US.add(uri)
    mlflow.set_tracking_uri(uri)
    # set_tracking_uri also exports the variable so that subprocesses inherit it; a stage
    # process or any later `theater` command started from here would then take this lake's
    # store for one the user chose. MLflow's own global keeps the URI for this process.
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before
    return mlflow.MlflowClient(tracking_uri=uri)


def experiment_id(cfg: Config) -> str:
    client = _client(cfg)
    name = cfg.tracking.experiment
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if tracking_uri(cfg).startswith("sqlite:"):
        location = (Path(cfg.paths.state).resolve() / "mlartifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _params(cfg: Config, period, lake_root: str, command: str) -> dict[str, str]:
    from . import __version__

    params = {
        f"cfg.{k}": json.dumps(v) if isinstance(v, (dict, list)) else str(v)
        for k, v in cfg.flat().items()
    }
    if period is not None:  # ingest alone has no period: it loads every new file
        params.update(
            {
                "period_start": str(period.start),
                "period_end": str(period.end),
                "period": period.label,
            }
        )
    params.update(
        {
            "engine": cfg.engine,
            "environment": cfg.env,
            "table_format": cfg.table_format,
            "lake": str(Path(lake_root).resolve()) if "://" not in lake_root else lake_root,
            "command": command,
            "code_version": __version__,
            "git_commit": git_commit() or "unknown",
        }
    )
    return {k: v[:6000] for k, v in params.items()}


class PipelineRun:
    """Context manager around one pipeline run; no-op when tracking is disabled."""

    def __init__(
        self, cfg: Config, period, lake_root: str, command: str = "run", background: bool = False
    ):
        self.cfg, self.period, self.lake_root, self.command = cfg, period, lake_root, command
        self.background = background
        self.enabled = bool(cfg.tracking.enabled)
        self.run_id: str | None = None
        self.lineage: dict[str, dict[str, Any]] = {}
        self._mlflow = None
        self._pending_stage: _StageRun | None = None  # entered before the run was ready
        # the run's logging after its start goes to one thread, in order (a store's commit is a
        # sync to disk: 10-40 ms each on a busy disk), joined at the run's end
        self._logger = None
        self._logged: list = []

    # --------------------------------------------------------------- lifecycle
    def __enter__(self) -> "PipelineRun":
        """Create the MLflow run. ``background``: in a thread, so that MLflow's import and store
        (about 1.6 CPU s on an existing SQLite store, about as much on a new one: a copy of the
        template store) overlap the caller's own start (the engine's); :meth:`ready` waits for
        it and makes it the active run."""
        if not self.enabled:
            return self
        # MLflow's Param() imports pyspark.ml once it is in sys.modules, and GX imports it too:
        # two threads importing it at once fail ("cannot access submodule 'ml' of module
        # 'pyspark'"). GX is imported only from a stage's first validation (quality.GX.prewarm,
        # which imports pyspark.ml in the calling thread first), after ready() has joined this
        # thread, so pyspark.ml (about 0.4 CPU s with what it imports) is not imported here.
        self._error: BaseException | None = None
        self._started_ms = int(time.time() * 1000)
        self._opener = threading.Thread(target=self._open, name="mlflow-start", daemon=True)
        self._opener.start()
        if not self.background:
            self.ready()
        return self

    def _open(self) -> None:
        """Create the run with the client API (MLflow's active-run stack is per thread, so the
        run is made active in the caller's thread by :meth:`ready`)."""
        try:
            client = _client(self.cfg)
            exp = self.experiment_id = experiment_id(self.cfg)
            fail_dead_runs(self.cfg, exp)
            label = self.period.label if self.period is not None else "new files"
            tags = {
                PARENT_TAG: "pipeline",
                "quarter": label,
                "engine": self.cfg.engine,
                "environment": self.cfg.env,
                "status": "RUNNING",
                **_owner_tags(),
            }
            from mlflow.tracking.context.registry import resolve_tags

            # the tags mlflow.start_run adds (user, source, git) beside ours
            # started when the command started: its first stage may begin before this
            run = client.create_run(
                exp,
                run_name=f"{self.command} {label}",
                tags=resolve_tags(tags),
                start_time=self._started_ms,
            )
            self.run_id = run.info.run_id
            from mlflow.entities import Param

            params = _params(self.cfg, self.period, self.lake_root, self.command)
            items = [Param(k, v) for k, v in params.items()]
            for i in range(0, len(items), 100):  # the store's batch limit
                client.log_batch(self.run_id, params=items[i : i + 100])
            client.log_text(self.run_id, self.cfg.to_yaml(), "config.yaml")
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread by ready()
            self._error = exc

    def ready(self) -> str | None:
        """The run id once the run exists and is active in this thread (None when tracking is
        off); an error met while creating it is raised here."""
        if not self.enabled:
            return None
        if self._mlflow is None:
            self._opener.join()
            if self._error is not None:
                raise self._error
            import mlflow

            mlflow.start_run(run_id=self.run_id)
            self._mlflow = mlflow
            log.info("MLflow run %s (%s)", self.run_id, tracking_uri(self.cfg))
            stage, self._pending_stage = self._pending_stage, None
            if stage is not None:  # a stage entered before the run existed
                self.later(stage.create)
        return self.run_id

    def later(self, fn, *args) -> None:
        """Call ``fn(*args)`` on this run's logging thread, after what was given before; an
        error is raised by :meth:`wait_logged` (at the latest when the run ends)."""
        if self._logger is None:
            from concurrent.futures import ThreadPoolExecutor

            self._logger = ThreadPoolExecutor(1, thread_name_prefix="mlflow-log")
        self._logged.append(self._logger.submit(fn, *args))

    def settle(self) -> None:
        """Wait until the logging thread is idle (its errors are raised by :meth:`wait_logged`)."""
        from concurrent.futures import wait

        wait(list(self._logged))

    def wait_logged(self) -> None:
        """Wait for what was given to :meth:`later`; raise the first error it met."""
        if self._logger is None:
            return
        self._logger.shutdown(wait=True)
        self._logger = None
        done, self._logged = self._logged, []
        for future in done:
            if future.exception() is not None:
                raise future.exception()

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self.enabled:
            return False
        if self._mlflow is None:
            # the run was never made active here (a failure before the first stage): wait for
            # its creation and mark it FAILED, so no run is left half-logged and RUNNING
            self._opener.join()
            if self.run_id is not None:
                client = _client(self.cfg)
                error = exc if exc is not None else self._error
                why = f"{type(error).__name__}: {error}" if error is not None else "not started"
                client.set_tag(self.run_id, "status", "FAILED")
                client.set_tag(self.run_id, "error", why[:5000])
                client.log_text(self.run_id, why + "\n", "error.txt")
                client.set_terminated(self.run_id, status="FAILED")
            return False
        mlflow = self._mlflow
        late = None
        try:
            self.wait_logged()
        except Exception as error:  # noqa: BLE001 - the run fails with it, recorded below
            late = error
            if exc is None:
                exc = error
        try:
            if self.lineage:
                mlflow.log_dict(self.lineage, "lineage.json")
            if exc is not None:
                mlflow.set_tag("status", "FAILED")
                mlflow.set_tag("error", f"{type(exc).__name__}: {exc}"[:5000])
                mlflow.log_text(f"{type(exc).__name__}: {exc}\n", "error.txt")
            else:
                mlflow.set_tag("status", "FINISHED")
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run(status="FAILED" if exc is not None else "FINISHED")
        if late is not None and exc is late:  # no other error on the way out: raise this one
            raise late
        return False

    # --------------------------------------------------------------- stages
    def stage(self, name: str) -> "_StageRun":
        return _StageRun(self, name)

    def record_stage(self, name: str, metrics: dict, seconds: float, rows: int | None) -> None:
        """The stage's metrics, lineage and DQ results on the run (logged on the logging
        thread: the next stage goes on meanwhile)."""
        if not self.enabled:
            return
        flat: dict[str, float] = {f"{name}.seconds": round(seconds, 3)}
        if rows:
            flat[f"{name}.interactions_per_second"] = rows / max(seconds, 1e-9)
        for key, value in _numbers(metrics):
            flat[f"{name}.{key}"] = value
        lineage: dict[str, str] = {}
        for direction in ("inputs", "outputs"):
            for table, version in (metrics.get(direction) or {}).items():
                if version is None:
                    continue
                self.lineage.setdefault(table, {})["in" if direction == "inputs" else "out"] = (
                    version
                )
                lineage[f"lineage.{name}.{direction}.{table}"] = str(version)
        dq = [r for r in (metrics.get("dq") or []) if isinstance(r, dict) and "success" in r]
        if dq:
            flat[f"{name}.dq_pass_rate"] = sum(bool(r["success"]) for r in dq) / len(dq)
            flat[f"{name}.dq_failed_critical"] = float(
                sum(1 for r in dq if not r["success"] and r.get("severity") == "critical")
            )
        results = {"stage": name, "results": metrics["dq"]} if metrics.get("dq") else None
        self.later(self._log_stage, name, flat, lineage, results, _now_ms())

    def _log_stage(self, name, flat, lineage, results, at_ms) -> None:
        from mlflow.entities import Metric, Param

        client = _client(self.cfg)
        if lineage:  # one call to the store, not one per table
            client.log_batch(self.run_id, params=[Param(k, v) for k, v in lineage.items()])
        metrics = [Metric(k, v, at_ms, 0) for k, v in flat.items()]
        client.log_batch(self.run_id, metrics=metrics)
        if results is not None:
            client.log_dict(self.run_id, results, f"dq/{name}.json")

    def record_index(self, rows: list[dict]) -> None:
        """Org index distribution, signal means and the table itself as artifacts (logged on
        the logging thread)."""
        if not self.enabled or not rows:
            return
        self.later(self._log_index, rows, _now_ms())

    def _log_index(self, rows: list[dict], at_ms: int) -> None:
        import numpy as np
        import pandas as pd
        from mlflow.entities import Metric

        client = _client(self.cfg)
        df = pd.DataFrame(rows)
        published = df[~df["suppressed"]]
        metrics = {
            "orgs_scored": float(len(published)),
            "orgs_suppressed": float(df["suppressed"].sum()),
        }
        idx = published["theater_index"].dropna().astype(float)  # null: not measurable
        if len(idx):
            metrics.update(
                {
                    "index_mean": float(idx.mean()),
                    "index_median": float(idx.median()),
                    "index_p90": float(np.percentile(idx, 90)),
                }
            )
        for col in [c for c in df.columns if c.startswith("signal_")]:
            vals = published[col].dropna().astype(float)
            if len(vals):
                metrics[f"{col}_mean"] = float(vals.mean())
        metrics.update(incentive_metrics(published))
        client.log_batch(self.run_id, metrics=[Metric(k, v, at_ms, 0) for k, v in metrics.items()])
        diag = incentive_diagnostics(published)
        if diag:
            client.log_dict(self.run_id, diag, "incentive_diagnostics.json")
        table = df.copy()
        for c in table.columns:
            if table[c].dtype == object:
                table[c] = table[c].map(
                    lambda v: neutralize_formula(
                        json.dumps(list(v))
                        if isinstance(v, (list, tuple, np.ndarray))
                        else (None if v is None else str(v))
                    )
                )
        client.log_table(self.run_id, table, "org_theater_index.json")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "org_theater_index.csv"
            table.to_csv(path, index=False)
            client.log_artifact(self.run_id, str(path))


def _now_ms() -> int:
    return int(time.time() * 1000)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value):
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (OWASP CSV
    injection): ``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``. Numbers are not text cells."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _owner_tags() -> dict[str, str]:
    import socket

    from .lock import _proc_start

    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PROC_TAG: _proc_start(os.getpid()) or "",
    }


def fail_dead_runs(cfg: Config, exp_id: str) -> list[str]:
    """Mark FAILED the runs left RUNNING by a process of this host that no longer exists
    (killed with -9, power loss); runs of other hosts are left alone. Returns their ids."""
    import socket

    from .lock import pid_alive

    client = _client(cfg)
    host = socket.gethostname()
    failed = []
    try:
        runs = client.search_runs(
            [exp_id], filter_string="attributes.status = 'RUNNING'", max_results=500
        )
    except Exception as exc:  # noqa: BLE001 - a store without search: nothing to clean
        log.debug("cannot search RUNNING runs: %s", exc)
        return failed
    for r in runs:
        tags = r.data.tags
        if tags.get(HOST_TAG) != host or not tags.get(PID_TAG, "").isdigit():
            continue
        if pid_alive(int(tags[PID_TAG]), tags.get(PROC_TAG) or None):
            continue
        client.set_tag(r.info.run_id, "status", "FAILED")
        client.set_tag(
            r.info.run_id,
            "error",
            "the process running it died (killed or lost); marked FAILED by a later run",
        )
        client.set_terminated(r.info.run_id, status="FAILED")
        failed.append(r.info.run_id)
    if failed:
        log.warning(
            "MLflow: marked %d run(s) left RUNNING by a dead process as FAILED: %s",
            len(failed),
            ", ".join(failed),
        )
    return failed


class _StageRun:
    """A stage's child run, created and ended on the run's logging thread with the stage's
    own times. Entered before the parent run exists (a pipeline's first stage starts while
    its MLflow run is still being created), it is created once the parent is ready."""

    def __init__(self, parent: PipelineRun, name: str):
        self.parent, self.name = parent, name
        self.started_ms: int = 0
        self.run_id: str | None = None

    def __enter__(self):
        if self.parent.enabled:
            self.started_ms = _now_ms()
            if self.parent._mlflow is None:
                self.parent._pending_stage = self
            else:
                self.parent.later(self.create)
        return self

    def create(self) -> None:
        # the tags mlflow.start_run(nested=True) gives
        from mlflow.tracking.context.registry import resolve_tags
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        tags = {PARENT_TAG: "stage", "stage": self.name, **_owner_tags()}
        run = _client(self.parent.cfg).create_run(
            self.parent.experiment_id,
            start_time=self.started_ms,
            tags=resolve_tags({**tags, MLFLOW_PARENT_RUN_ID: self.parent.run_id}),
            run_name=self.name,
        )
        self.run_id = run.info.run_id

    def end(self, status: str, error: str | None, at_ms: int) -> None:
        if self.run_id is None:  # its creation failed: that error is the one raised
            return
        client = _client(self.parent.cfg)
        if error is not None:
            client.set_tag(self.run_id, "error", error)
        client.set_terminated(self.run_id, status=status, end_time=at_ms)

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self.parent.enabled:
            return False
        if self.parent._mlflow is None:
            try:
                self.parent.ready()  # creates this run too
            except BaseException:
                if exc is None:
                    raise  # the run could not be created: the pipeline fails with that
                # the stage's own failure is what the caller sees; the parent run is marked
                # FAILED on its way out
                return False
        error = f"{type(exc).__name__}: {exc}"[:5000] if exc is not None else None
        status = "FAILED" if exc is not None else "FINISHED"
        self.parent.later(self.end, status, error, _now_ms())
        return False


def _numbers(metrics: dict, prefix: str = ""):
    for key, value in metrics.items():
        if key in ("inputs", "outputs", "dq"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            yield name, float(value)
        elif isinstance(value, dict):
            yield from _numbers(value, name + ".")


# ------------------------------------------------------------------- reading runs back
def get_run(cfg: Config, run_id: str):
    """The MLflow run ``run_id``; an unknown id is a usage error (exit 2) naming the store."""
    from .errors import UsageError

    client = _client(cfg)
    try:
        return client.get_run(run_id)
    except Exception as exc:  # noqa: BLE001 - MlflowException for an unknown/malformed id
        if (
            "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", ""))
            or "not found" in str(exc).lower()
            or "INVALID_PARAMETER" in str(getattr(exc, "error_code", ""))
        ):
            raise UsageError(
                f"MLflow run {run_id!r} not found in {tracking_uri(cfg)}: check "
                "the id (theater runs list) and MLFLOW_TRACKING_URI"
            ) from None
        raise


def load_artifact_text(cfg: Config, run_id: str, path: str) -> str:
    import mlflow

    _client(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=tmp)
        return Path(local).read_text()


def recent_runs(cfg: Config, limit: int = 20):
    client = _client(cfg)
    exp = client.get_experiment_by_name(cfg.tracking.experiment)
    if exp is None:
        return []
    return client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.`{PARENT_TAG}` = 'pipeline'",
        order_by=["attributes.start_time DESC"],
        max_results=limit,
    )


def find_run(cfg: Config, run_id: str):
    """The MLflow run ``run_id``, or None when tracking is off, the local store does not exist
    (nothing is created) or does not hold the run."""
    if not cfg.tracking.enabled:
        return None
    uri = _user_env_uri() or cfg.tracking.uri
    if not uri and not (Path(cfg.paths.state) / "mlflow.db").exists():
        return None
    try:
        return _client(cfg).get_run(run_id)
    except Exception as exc:  # noqa: BLE001 - absent run, unreachable server: the caller says so
        log.info("MLflow run %s not found in %s: %s", run_id, tracking_uri(cfg), exc)
        return None


def log_report(cfg: Config, run_id: str, paths) -> None:
    """Attach report files (HTML, PDF) to run ``run_id`` under ``report/``."""
    client = _client(cfg)
    for p in paths:
        client.log_artifact(run_id, str(p), artifact_path="report")


INCENTIVE_ESTIMATORS = ("quota_bunching", "checkpoint_burst")
DIAGNOSTIC_FIELDS = ("status", "z", "users", "reason")


def incentive_diagnostics(published) -> dict:
    """{org: {estimator: {status, z, users, reason}}} from the published org rows (the gold
    columns ``<estimator>_status`` etc.); {} for a lake without them."""
    import pandas as pd

    out: dict = {}
    for r in published.to_dict("records"):
        per = {}
        for est in INCENTIVE_ESTIMATORS:
            if f"{est}_status" not in r:
                continue
            vals = {}
            for f in DIAGNOSTIC_FIELDS:
                v = r.get(f"{est}_{f}")
                vals[f] = None if v is None or (not isinstance(v, str) and pd.isna(v)) else v
            if vals["z"] is not None:
                vals["z"] = float(vals["z"])
            if vals["users"] is not None:
                vals["users"] = int(vals["users"])
            per[est] = vals
        if per:
            out[str(r["org_id"])] = per
    return out


def incentive_metrics(published) -> dict[str, float]:
    """Per estimator, the number of published orgs in each diagnostic status, and per org its z
    statistic (``incentive.<estimator>.<status>``, ``incentive.<org>.<estimator>_z``)."""
    metrics: dict[str, float] = {}
    for org, per in incentive_diagnostics(published).items():
        for est, d in per.items():
            key = f"incentive.{est}.{d['status']}"
            metrics[key] = metrics.get(key, 0.0) + 1.0
            if d["z"] is not None:
                metrics[f"incentive.{org}.{est}_z"] = d["z"]
    return metrics
