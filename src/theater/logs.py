"""Logging for the command line and schedulers: quiet by default, informative on request.

``setup_logging(verbose, fmt)`` is called once by the CLI:

- by default only the project's own lines (``theater.*``, INFO and up) and other libraries'
  errors are shown; ``-v`` shows the project's DEBUG lines and other libraries' warnings;
  ``THEATER_LOG_LEVEL`` sets the project's level explicitly;
- ``fmt="json"`` writes one JSON object per line (time, level, logger, message, and any extra
  fields passed with ``log.info(..., extra={...})``) for schedulers and log collectors.

Third-party noise is silenced where it is produced: Great Expectations, MLflow, alembic, py4j,
urllib3 and gRPC log through Python logging, so their loggers get a higher level (MLflow also
reads ``MLFLOW_LOGGING_LEVEL`` when it is imported and installs its own handler, so that variable
gets a default too); the embedded Sail server is a Rust process-in-process that logs its own
``WARN`` lines straight to stderr through ``env_logger``, filtered only by ``RUST_LOG``:
:func:`sail_rust_log` gives the directives the engine sets before it starts the server (a
``RUST_LOG`` set by the user is kept).

Progress: :func:`progress` gives long stages a progress bar on a terminal (stderr is a TTY) and
plain milestone log lines otherwise; :func:`milestone` logs one such line.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

PROJECT = "theater"
FORMATS = ("text", "json")
# libraries that log chatty INFO lines through Python logging (GX: ~200 lines per run)
NOISY = (
    "great_expectations",
    "mlflow",
    "alembic",
    "huey",
    "py4j",
    "pyspark",
    "urllib3",
    "grpc",
    "filelock",
    "fsspec",
    "asyncio",
    "git",
)
# Sail (Rust, env_logger) notices that are expected and not actionable here:
# "Hint operation is not yet supported and is a no-op" (once per broadcast hint),
# "Persist operation is not yet supported", and the task count when the session closes.
SAIL_QUIET_TARGETS = (
    "sail_plan::resolver::query::misc",
    "sail_spark_connect::service::plan_analyzer",
    "sail_common::actor",
)
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

_state = {"verbose": False, "handler": None, "third_party": logging.WARNING}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class _Handler(logging.StreamHandler):
    """stderr handler that writes around an active progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        bar = _Progress.active
        if bar is None or bar.bar is None:
            return super().emit(record)
        try:
            bar.bar.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def quiet(name: str) -> None:
    """Raise logger ``name`` and every existing logger under it that set a lower level of its
    own (GX sets INFO on some module loggers when they are imported) to the third-party level:
    ERROR after :func:`setup_logging`, WARNING with ``-v`` or in library use."""
    level = _state["third_party"]
    logging.getLogger(name).setLevel(level)
    prefix = name + "."
    for other, logger in list(logging.Logger.manager.loggerDict.items()):
        if (
            other.startswith(prefix)
            and isinstance(logger, logging.Logger)
            and logger.level != logging.NOTSET
            and logger.level < level
        ):
            logger.setLevel(level)


def quiet_third_party(verbose: bool = False) -> None:
    """Quiet the chatty libraries' loggers (ERROR; WARNING when verbose), and give MLflow's own
    level variable (read when mlflow is imported) the same default unless the user set it."""
    _state["third_party"] = logging.WARNING if verbose else logging.ERROR
    for name in NOISY:
        quiet(name)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", logging.getLevelName(_state["third_party"]))


def sail_rust_log() -> str:
    """``RUST_LOG`` directives for the embedded Sail server: warnings, minus the known no-op
    notices (all of them with ``-v``)."""
    if _state["verbose"]:
        return "warn"
    return ",".join(["warn"] + [f"{t}=error" for t in SAIL_QUIET_TARGETS])


def setup_logging(verbose: bool = False, fmt: str = "text", stream=None) -> logging.Handler:
    """Configure the root logger for the command line (idempotent: replaces its own handler)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, got {fmt!r}")
    _state["verbose"] = verbose
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
    )
    root = logging.getLogger()
    if _state["handler"] is not None:
        root.removeHandler(_state["handler"])
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    _state["handler"] = handler
    level = os.environ.get("THEATER_LOG_LEVEL", "DEBUG" if verbose else "INFO").upper()
    logging.getLogger(PROJECT).setLevel(level)
    quiet_third_party(verbose)
    logging.captureWarnings(True)  # Python warnings go through the same handler
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose else logging.ERROR)
    return handler


def settings() -> dict:
    """This process's logging levels, for :func:`forward_to` in a child process."""
    return {
        "root": logging.getLogger().level,
        "project": logging.getLogger(PROJECT).level,
        "verbose": _state["verbose"],
        "third_party": _state["third_party"],
        "warnings": logging.getLogger("py.warnings").level,
    }


def forward_to(queue, levels: dict) -> None:
    """In a child process (``theater.pipeline``'s stage processes): send every log record to
    ``queue`` with the parent's levels (:func:`settings`), for the parent to write with its own
    handler (:func:`relay`), so that a stage's lines look the same in or out of process."""
    from logging.handlers import QueueHandler

    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(QueueHandler(queue))
    root.setLevel(levels["root"])
    logging.getLogger(PROJECT).setLevel(levels["project"])
    _state["verbose"] = levels["verbose"]
    _state["third_party"] = levels["third_party"]
    for name in NOISY:
        quiet(name)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(levels["warnings"])


def relay(records, stop) -> None:
    """Write the records a child sends with :func:`forward_to` through this process's loggers,
    until ``stop`` (a threading.Event) is set and nothing is left to read. This process never
    writes to ``records``: a child killed while writing may leave the queue's write lock held."""
    import queue

    while True:
        try:
            record = records.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return
            continue
        except (EOFError, OSError, ValueError):  # torn by a killed child: nothing more to read
            return
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def milestone(message: str, *args, logger: str = PROJECT) -> None:
    """One progress line (INFO) on the project's log."""
    logging.getLogger(logger).info(message, *args)


class _Progress:
    """A stage's progress: a bar on a terminal, milestone lines otherwise."""

    active: "_Progress | None" = None

    def __init__(
        self, stage: str, total: int | None, unit: str, log: logging.Logger, on_terminal: bool
    ):
        self.stage, self.total, self.unit, self.log = stage, total, unit, log
        self.done = 0
        self.t0 = time.monotonic()
        self.bar = None
        if on_terminal:
            from tqdm import tqdm

            # a pty without a size reports 0 x 0: tqdm would then draw nothing
            size = shutil.get_terminal_size(fallback=(100, 24))
            self.bar = tqdm(
                total=total,
                desc=stage,
                unit=unit,
                file=sys.stderr,
                leave=False,
                ncols=min(size.columns or 100, 120),
                nrows=size.lines or 24,
            )

    def advance(self, n: int = 1, note: str | None = None) -> None:
        """``n`` more units done; ``note`` says which (shown on the bar or in the line)."""
        self.done += n
        if self.bar is not None:
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(n)
            return
        of = f"/{self.total}" if self.total is not None else ""
        self.log.info(
            "%s: %d%s %s%s (%.1fs)",
            self.stage,
            self.done,
            of,
            self.unit,
            f" - {note}" if note else "",
            time.monotonic() - self.t0,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _on_terminal() -> bool:
    try:
        return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress(
    stage: str, total: int | None = None, unit: str = "step", logger: str = PROJECT
) -> Iterator[_Progress]:
    """``with progress("ingest", total=4, unit="dataset") as p: ... p.advance(note=name)``.

    On a terminal a progress bar (log lines are written above it); elsewhere one INFO line per
    ``advance`` (also on a ``TERM=dumb`` terminal).
    """
    p = _Progress(stage, total, unit, logging.getLogger(logger), _on_terminal())
    outer, _Progress.active = _Progress.active, p
    try:
        yield p
    finally:
        p.close()
        _Progress.active = outer


class Steps:
    """A stage's milestones as a progress callback: each call logs the message through ``log``
    (the stage's own callback, ``log.info`` by default) and, on a terminal, also advances a
    progress bar of ``total`` steps (log lines are written above it). Stages that take a
    ``progress=`` callback wrap it in one line::

        progress = logs.Steps("score", 4, progress)
        ...
        progress.close()
    """

    def __init__(self, stage: str, total: int | None, log=None, unit: str = "step"):
        self.log = log or logging.getLogger(PROJECT).info
        self.stage = stage
        on_terminal = _on_terminal()
        self._p = _Progress(stage, total, unit, logging.getLogger(PROJECT), on_terminal)
        self._outer = None
        if on_terminal:
            self._outer, _Progress.active = _Progress.active, self._p

    def __call__(self, message: str) -> None:
        if self._p.bar is not None:
            note = (
                message[len(self.stage) :].lstrip(" :")
                if message.startswith(self.stage)
                else message
            )
            self._p.bar.set_postfix_str(note[:60], refresh=False)
            self._p.bar.update(1)
        self.log(message)

    def close(self) -> None:
        if self._p.bar is not None:
            self._p.close()
            _Progress.active = self._outer


def exit_now(code: int) -> None:
    """End the process with ``code`` once logging and the standard streams are flushed, without
    the interpreter's teardown (callers: :func:`theater.cli.exit_process` and a stage process's
    end, which say why)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
