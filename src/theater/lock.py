"""One writer per lake: an exclusive lock file in the lake root.

``<lake>/_theater.lock`` is created atomically (``O_CREAT | O_EXCL``) and holds its owner as JSON:
host, pid, the process start time, the run id and when it was taken. A second run waits up to
``wait`` seconds for it, then fails with :class:`LakeBusyError` ("lake busy: run <id> since
<time>", exit 1). A lock whose owner is dead is taken over:

- same host: dead when ``os.kill(pid, 0)`` says no such process, or when the pid now belongs to
  another process (its start time differs from the one recorded, pid reuse);
- another host: liveness cannot be checked from here, so the lock is treated as held until it
  is older than ``lake.lock_stale_seconds`` (default 24 h), then taken over as stale (the
  warning says so: its owner may still be running). Its age comes from the start time it
  records (``taken_at_epoch``) or, when it records none (or a time in the future), from the
  lock file's modification time: a foreign lock never blocks the lake forever.

Taking over is itself atomic: the stale file is renamed to a unique name first (only one
contender's rename succeeds), then the new lock is created with ``O_EXCL``.
While the lock is held, every batch in the lake that is not committed belongs to a dead run, so
crash cleanup (``stages.ingest``) runs only under this lock.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from .errors import LakeBusyError, UsageError

log = logging.getLogger(__name__)

LOCK_NAME = "_theater.lock"
STAGING = os.path.join("ops", "_staging")


def clear_staging(root: Path) -> list[str]:
    """Remove ``<lake>/ops/_staging`` (ingest's re-framed landing copies, refine's copy of
    bronze by event bucket and the DQ gates' staged tables: they may hold raw identifiers).
    Only the lock holder calls this."""
    import shutil

    staging = Path(root) / STAGING
    if not staging.is_dir():
        return []
    names = sorted(os.listdir(staging))
    shutil.rmtree(staging, ignore_errors=True)
    return names


def _proc_start(pid: int) -> str | None:
    """Start time of a process in clock ticks since boot (Linux), None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
        return data.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, start: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if start is not None:
        now = _proc_start(pid)
        if now is not None and now != start:
            return False  # the pid was reused by another process
    # a zombie (killed, not yet reaped by its parent) is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().decode("ascii", "replace").rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    return True


def lock_age(owner: dict, lock_path: Path | None = None) -> float | None:
    """Seconds since the lock was taken: its recorded ``taken_at_epoch`` when that is a time
    in the past, else the lock file's modification time; None when neither is known."""
    now = time.time()
    taken = owner.get("taken_at_epoch")
    if isinstance(taken, (int, float)) and not isinstance(taken, bool) and taken <= now:
        return now - taken
    if lock_path is not None:
        try:
            return max(0.0, now - lock_path.stat().st_mtime)
        except OSError:
            return None
    return None


def foreign(owner: dict) -> bool:
    return owner.get("host") != socket.gethostname()


def owner_alive(owner: dict, stale_seconds: float, lock_path: Path | None = None) -> bool:
    """Same host: whether the recorded process still runs. Another host: unknowable, so
    alive until the lock is older than ``stale_seconds`` (see :func:`lock_age`)."""
    if not foreign(owner):
        try:
            return pid_alive(int(owner["pid"]), owner.get("proc_start"))
        except (KeyError, TypeError, ValueError):
            return False
    age = lock_age(owner, lock_path)
    return age is None or age <= stale_seconds


def read_owner(lock_path: Path) -> dict | None:
    try:
        text = lock_path.read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        data = json.loads(text)
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}  # half-written by a process killed between create and write: no owner


def check_lake_root(root: str) -> Path:
    """The lake root as a folder we can write, or a UsageError naming what to fix (exit 2)."""
    p = Path(root)
    if p.exists() and not p.is_dir():
        raise UsageError(f"lake path {root!r} is a file, not a folder: give a folder with --lake")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"lake path {root!r} cannot be created ({exc.strerror}): give a "
            "writable folder with --lake"
        ) from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(
            f"lake path {root!r} is not writable by this user: fix its "
            "permissions or give another folder with --lake"
        )
    return p


class LakeLock:
    """Context manager holding the lake's writer lock."""

    def __init__(
        self,
        root: str,
        run_id: str,
        *,
        wait: float = 0.0,
        stale_seconds: float = 86400.0,
        poll: float = 0.5,
    ):
        self.root = check_lake_root(root)
        self.path = self.root / LOCK_NAME
        self.run_id, self.wait, self.stale, self.poll = run_id, wait, stale_seconds, poll
        self.owner: dict | None = None

    def _owner_info(self) -> dict:
        now = datetime.now(timezone.utc)
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "proc_start": _proc_start(os.getpid()),
            "run_id": self.run_id,
            "taken_at": now.isoformat(timespec="seconds"),
            "taken_at_epoch": now.timestamp(),
        }

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        info = self._owner_info()
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
            fh.flush()
            os.fsync(fh.fileno())
        self.owner = info
        return True

    def _take_over_if_dead(self) -> dict | None:
        """Remove a dead owner's lock; return the live owner (None when it was removed/absent)."""
        owner = read_owner(self.path)
        if owner is None:
            return None
        if owner == {}:
            # unreadable or half-written: give its writer a moment (create then write), then
            # treat it as dead when it has not changed
            try:
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:
                return None
            if age < 5:
                return {"run_id": "?", "taken_at": "just now"}
        elif owner_alive(owner, self.stale, self.path):
            return owner
        age = lock_age(owner, self.path) if owner else None
        aside = self.path.with_name(f"{LOCK_NAME}.dead-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return None  # someone else took it over first
        # the file we moved may have been replaced between our read and the rename: check
        moved = read_owner(aside)
        if moved != owner and moved not in ({}, None) and owner_alive(moved, self.stale, self.path):
            try:
                os.link(aside, self.path)  # put a live owner's lock back
            except FileExistsError:
                pass
            os.unlink(aside)
            return moved
        os.unlink(aside)
        if owner and foreign(owner):
            why = (
                f"it is {age or 0:.0f}s old, older than lake.lock_stale_seconds "
                f"({self.stale:.0f}s); its owner is on another host, where this run cannot "
                "see whether it still runs: if it does, stop it"
            )
        elif owner:
            why = "its owner is no longer running"
        else:
            why = "the lock file names no owner (half-written by a killed run)"
        log.warning(
            "lake %s: taking over the lock of run %s (pid %s on %s, since %s): %s",
            self.root,
            owner.get("run_id", "?"),
            owner.get("pid", "?"),
            owner.get("host", "?"),
            owner.get("taken_at", "?"),
            why,
        )
        return None

    def acquire(self) -> "LakeLock":
        deadline = time.monotonic() + max(0.0, self.wait)
        while True:
            if self._try_create():
                stale = clear_staging(self.root)
                if stale:
                    log.warning(
                        "lake %s: removed stale staging left by an earlier run: %s",
                        self.root,
                        ", ".join(stale),
                    )
                return self
            live = self._take_over_if_dead()
            if live is None:
                continue
            if time.monotonic() >= deadline:
                raise self.busy(live)
            time.sleep(self.poll)

    def busy(self, live: dict) -> LakeBusyError:
        """The error for a lock held by ``live``."""
        later = (
            f"; a lock from another host is taken over once older than "
            f"lake.lock_stale_seconds ({self.stale:.0f}s)"
            if live.get("host") and foreign(live)
            else ""
        )
        return LakeBusyError(
            f"lake busy: run {live.get('run_id', '?')} since {live.get('taken_at', '?')} "
            f"(pid {live.get('pid', '?')} on {live.get('host', '?')}) holds "
            f"{self.path}; wait for it, or pass --wait SECONDS{later}"
        )

    def refuse_if_held(self) -> None:
        """Without a wait, raise :class:`LakeBusyError` now when a live owner holds the lock:
        a run that would be refused is refused before it pays for its MLflow run and engine.
        Only a read: the lock is still taken atomically by :meth:`acquire` (a dead owner's
        lock is left for it to take over)."""
        if self.wait > 0:
            return
        owner = read_owner(self.path)
        if owner and owner_alive(owner, self.stale, self.path):
            raise self.busy(owner)

    def relabel(self, run_id: str) -> None:
        """Name ``run_id`` as the holder's run from now on (the lock was taken before the
        run's id was known). The owner file is replaced whole: a reader sees the old owner or
        the new, never half of one."""
        if self.owner is None or self.owner["run_id"] == run_id:
            self.run_id = run_id
            return
        info = {**self.owner, "run_id": run_id}
        scratch = self.path.with_name(f"{LOCK_NAME}.new-{os.getpid()}")
        with open(scratch, "w") as fh:
            json.dump(info, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(scratch, self.path)
        self.run_id, self.owner = run_id, info

    def release(self) -> None:
        if self.owner is None:
            return
        clear_staging(self.root)  # every exit path: no raw identifier stays in staging
        current = read_owner(self.path)
        if (
            current
            and current.get("pid") == self.owner["pid"]
            and current.get("run_id") == self.owner["run_id"]
        ):
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
        self.owner = None

    def __enter__(self) -> "LakeLock":
        return self.acquire()

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def lake_lock(root: str, run_id: str, cfg=None, wait: float | None = None):
    """The writer lock for a lake root from the configuration (``lake.lock_*``); ``wait``
    (``--wait``) overrides ``lake.lock_wait_seconds``. Lakes behind a URL are not locked."""
    from contextlib import nullcontext

    def get(key, default):
        try:
            return cfg[key] if cfg is not None else default
        except KeyError:
            return default

    if "://" in root:
        log.warning("lake %s is a URL: no writer lock (one writer per lake is up to you)", root)
        return nullcontext()
    w = wait if wait is not None else float(get("lake.lock_wait_seconds", 0))
    if w < 0:
        raise UsageError(f"--wait must be 0 or more seconds, got {w}")
    return LakeLock(
        root, run_id, wait=w, stale_seconds=float(get("lake.lock_stale_seconds", 86400))
    )
