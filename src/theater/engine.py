"""The only place a Spark session is built.

Engines:
- ``sail``: an embedded LakeSail Sail Spark Connect server (pysail, Delta built in), stopped
  cleanly when the session closes (client first, then server, so the client's exit hooks do not
  hang on a dead server).
- ``spark``: Apache Spark with delta-spark. Under spark-submit the active session is reused;
  otherwise a local session is built (``configure_spark_with_delta_pip`` adds the Delta jars
  when table_format is delta; that needs a reachable Maven repository).
- ``remote``: an existing Spark Connect endpoint (``sc://host:port``).
"""

from __future__ import annotations

import atexit
import logging
import os
import warnings
from contextlib import contextmanager
from typing import Iterator

from . import logs
from .config import Config, ConfigError

log = logging.getLogger(__name__)

# PySpark 4.2 warns about optional pandas/pyarrow details on import; they are not actionable here.
warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")

_BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
}


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


def build_session(cfg: Config):
    """Create (or reuse) the SparkSession for the configured engine."""
    from pyspark.sql import SparkSession

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
        active = SparkSession.getActiveSession()
        if active is not None:  # spark-submit, Databricks, a notebook: the cluster owns it
            for k, v in conf.items():
                if not k.startswith("spark.sql.extensions") and "catalog" not in k:
                    active.conf.set(k, v)
            return active
        builder = SparkSession.builder
        # Under spark-submit, spark-submit owns master, app name and jars (--master, --name,
        # --packages): the builder must not override them (.master() would run a YARN job locally).
        if not under_spark_submit():
            builder = builder.appName(cfg.spark.app_name).master(
                os.environ.get("SPARK_MASTER", "local[2]")
            )
            conf.setdefault("spark.ui.enabled", "false")
            conf.setdefault("spark.ui.showConsoleProgress", "false")
        if cfg.table_format == "delta":
            conf.setdefault("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            conf.setdefault(
                "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
            )
            if not under_spark_submit():
                for k, v in conf.items():
                    builder = builder.config(k, v)
                from delta import configure_spark_with_delta_pip

                return configure_spark_with_delta_pip(builder).getOrCreate()
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
