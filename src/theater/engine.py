"""The only place a Spark session is built.

Engines:
- ``sail``: an embedded LakeSail Sail Spark Connect server (pysail, Delta built in), stopped
  cleanly when the session closes (client first, then server, so the client's exit hooks do not
  hang on a dead server).
- ``spark``: Apache Spark with Delta Lake (delta-spark). Under spark-submit the active session is
  reused (spark-submit's ``--jars`` brings the Delta jars); otherwise a local session is built
  with the jars of the install step (``make install``: the machine's Maven client copies them
  into ``.theater/jars/``; ``THEATER_DELTA_JARS`` names another folder) on ``spark.jars``.
  ``table_format: parquet`` runs without them.
- ``remote``: an existing Spark Connect endpoint (``sc://host:port``).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import logs
from .config import Config, ConfigError

log = logging.getLogger(__name__)

# PySpark 4.2 warns about optional pandas/pyarrow details on import; they are not actionable here.
warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")

_BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
}

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
DELTA_JARS_ENV = "THEATER_DELTA_JARS"
# Where the install step puts the jars (Makefile, conf/delta-jars/pom.xml), relative to the
# working directory or to the project a source checkout runs from.
DELTA_JARS_DIR = os.path.join(".theater", "jars")


def delta_spark_conf(shuffle_partitions: int = 50) -> dict[str, str]:
    """Apache Spark settings for Delta tables, the same in a local session, under spark-submit
    and on a Spark Connect server.

    The protocol is pinned to what the embedded Sail engine writes and reads (reader 1, writer
    2, no table features), so that one lake moves between the engines either way; a table
    that needs more (a feature one engine lacks) fails on the writing engine, not later on the
    other. The snapshot of a table's log is rebuilt in at most as many tasks as a shuffle
    (Delta's default, 50, is made for big logs; the lake's logs are small).
    """
    return {
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.databricks.delta.properties.defaults.minReaderVersion": "1",
        "spark.databricks.delta.properties.defaults.minWriterVersion": "2",
        "spark.databricks.delta.snapshotPartitions": str(max(1, min(50, shuffle_partitions))),
    }


def delta_jars_dir() -> str | None:
    """The folder of Delta jars for a local Apache Spark session, or None when none is found:
    ``$THEATER_DELTA_JARS``, else ``.theater/jars`` in the working directory, else in the
    project this source runs from."""
    env = os.environ.get(DELTA_JARS_ENV)
    if env:
        return env
    project = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), project):
        d = base / DELTA_JARS_DIR
        if any(d.glob("delta-spark_*.jar")):
            return str(d)
    return None


def delta_jars() -> list[str]:
    """The Delta jars (absolute paths, sorted) for ``spark.jars`` / ``--jars``."""
    d = delta_jars_dir()
    jars = sorted(str(p.resolve()) for p in Path(d).glob("*.jar")) if d else []
    if not any(Path(j).name.startswith("delta-spark_") for j in jars):
        where = f"{DELTA_JARS_ENV}={d}" if os.environ.get(DELTA_JARS_ENV) else f"{DELTA_JARS_DIR}/"
        raise ConfigError(
            f"engine=spark with table_format=delta needs the Delta Lake jars, and {where} has "
            "no delta-spark jar: run `make install` (the machine's Maven client fetches them "
            f"into {DELTA_JARS_DIR}/), or set {DELTA_JARS_ENV} to a folder of them, or put them "
            "on spark.jars yourself; --table-format parquet runs without them"
        )
    return jars


def _check_delta_loaded(spark) -> None:
    """A session meant for Delta whose JVM cannot load Delta fails here, with what to do, not
    at the first write with DATA_SOURCE_NOT_FOUND."""
    try:
        loader = spark._jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader.loadClass(DELTA_EXTENSION)
    except Exception as e:
        raise ConfigError(
            "engine=spark with table_format=delta: the Spark driver cannot load Delta Lake "
            f"({DELTA_EXTENSION}); under spark-submit pass the jars with --jars (make install "
            f"puts them in {DELTA_JARS_DIR}/), or use --table-format parquet"
        ) from e


# The Sail engine allocates through its own mimalloc, which reads its settings from the
# environment once, when pysail's native library loads. By default mimalloc gives a freed page
# back to the OS only a while later and only when the thread that freed it allocates again; the
# engine's worker threads go idle between the steps of a stage, so what one user bucket freed
# stayed resident into the next and a long stage's memory climbed bucket by bucket (score at
# 50M: 4,358 MB, 2,058 MB with the purge at once). Purging at once costs system CPU (score at
# 10M: +16 to +48 CPU s on about 190), hence only for large inputs (``spark.return_freed_memory``,
# theater.pipeline). benchmarks/RESULTS.md, "(memory, the allocator's purge delay at 10M and 50M)".
RETURN_FREED_ENV = {"MIMALLOC_PURGE_DELAY": "0"}


def return_freed_memory() -> bool:
    """Ask the engine's allocator to give freed memory back at once, unless the user set its
    variables; True when it will apply (the engine's library is not loaded in this process yet)."""
    for key, value in RETURN_FREED_ENV.items():
        os.environ.setdefault(key, value)
    return "pysail._native" not in sys.modules


class _SailServer:
    """Embedded Sail server, one per process, stopped at exit."""

    _server = None

    @classmethod
    def url(cls) -> str:
        if cls._server is None:
            # Sail logs from Rust (env_logger) straight to stderr, filtered by RUST_LOG only:
            # quiet its expected no-op notices unless the user set RUST_LOG.
            os.environ.setdefault("RUST_LOG", logs.sail_rust_log())
            from pysail.spark import SparkConnectServer

            server = SparkConnectServer(ip="127.0.0.1", port=0)
            server.start(background=True)
            cls._server = server
            atexit.register(cls.stop)
            log.debug("started Sail server on %s", server.listening_address)
        host, port = cls._server.listening_address
        return f"sc://{host}:{port}"

    @classmethod
    def stop(cls) -> None:
        if cls._server is not None:
            try:
                cls._server.stop()
            finally:
                cls._server = None


def _conf_items(cfg: Config) -> dict[str, str]:
    conf = dict(_BASE_CONF)
    conf["spark.sql.shuffle.partitions"] = str(cfg.spark.shuffle_partitions)
    conf.update({k: str(v) for k, v in cfg.spark.conf.items()})
    return conf


def under_spark_submit() -> bool:
    """True when this Python driver was started by spark-submit (it hands over a JVM gateway)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _no_ipython_lookups() -> None:
    """PySpark records the caller's file and line with every DataFrame and Column call
    (``pyspark.errors.utils._capture_call_site``, for the engine's error messages) and tries
    ``import IPython`` each time to recognise a notebook. Without IPython installed every try
    searches the whole import path again: about 10,000 calls and 0.4 CPU s a run. Marking the
    absent module as absent (``sys.modules[name] = None``) makes each try fail at once; the
    call sites are still captured. A process that can import IPython is left alone."""
    import importlib.util
    import sys

    if "IPython" not in sys.modules and importlib.util.find_spec("IPython") is None:
        sys.modules["IPython"] = None  # type: ignore[assignment]


def preload_client(cfg: Config) -> None:
    """Import the Spark Connect client (with pandas, pyarrow, gRPC and protobuf: about 0.6 CPU
    s) in this thread now, before threads that import some of the same modules start."""
    if cfg.engine in ("sail", "remote"):
        import pyspark.sql.connect.session  # noqa: F401


def build_session(cfg: Config):
    """Create (or reuse) the SparkSession for the configured engine."""
    from pyspark.sql import SparkSession

    _no_ipython_lookups()

    engine = cfg.engine
    conf = _conf_items(cfg)
    if engine == "sail":
        builder = SparkSession.builder.remote(_SailServer.url())
    elif engine == "remote":
        url = cfg.remote_url
        if not url or not url.startswith("sc://"):
            raise ConfigError(f"key 'remote_url': engine=remote needs an sc:// URL, got {url!r}")
        builder = SparkSession.builder.remote(url)
    elif engine == "spark":
        delta = cfg.table_format == "delta"
        if delta:
            conf = {**delta_spark_conf(cfg.spark.shuffle_partitions), **conf}
        active = SparkSession.getActiveSession()
        if active is not None:  # spark-submit, Databricks, a notebook: the cluster owns it
            for k, v in conf.items():
                if not k.startswith(("spark.sql.extensions", "spark.jars")) and "catalog" not in k:
                    active.conf.set(k, v)
            if delta:
                _check_delta_loaded(active)
            return active
        builder = SparkSession.builder
        # Under spark-submit, spark-submit owns master, app name and jars (--master, --name,
        # --jars): the builder must not override them (.master() would run a YARN job locally).
        if not under_spark_submit():
            builder = builder.appName(cfg.spark.app_name).master(
                os.environ.get("SPARK_MASTER", "local[2]")
            )
            conf.setdefault("spark.ui.enabled", "false")
            conf.setdefault("spark.ui.showConsoleProgress", "false")
            if delta and not any(k in conf for k in ("spark.jars", "spark.jars.packages")):
                conf["spark.jars"] = ",".join(delta_jars())
        for k, v in conf.items():
            builder = builder.config(k, v)
        spark = builder.getOrCreate()
        if delta:
            _check_delta_loaded(spark)
        return spark
    else:  # validated by config; defensive
        raise ConfigError(f"key 'engine': unknown engine {engine!r}")
    for k, v in conf.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


@contextmanager
def session(cfg: Config) -> Iterator:
    """Context manager: a session for the configured engine, stopped cleanly afterwards.

    Under spark-submit (engine=spark with an active session) the session is left running for
    the cluster to manage.
    """
    from pyspark.sql import SparkSession

    # Reuse, and leave running, a session someone else owns: the active session under
    # spark-submit, or an embedded Sail server already started in this process (nested use).
    reused = (cfg.engine == "spark" and SparkSession.getActiveSession() is not None) or (
        cfg.engine == "sail" and _SailServer._server is not None
    )
    spark = build_session(cfg)
    try:
        yield spark
    finally:
        if not reused:
            try:
                spark.stop()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.debug("session stop failed", exc_info=True)
            if cfg.engine == "sail":
                _SailServer.stop()
