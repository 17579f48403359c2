"""This process's memory and CPU, for the benchmark scripts that measure a step in-process
(the embedded engine runs in the Python process, so its RSS and CPU are the step's), and the
resident memory of a process tree, for those that measure a command.

    from process_use import RssSampler, cpu, rss_mb, rss_of, tree_of

A script run as ``python benchmarks/x.py`` has ``benchmarks/`` on its path, so this imports.
"""

from __future__ import annotations

import resource
import threading
import time


def rss_mb() -> int:
    """This process's resident set, MB (``VmRSS``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def cpu() -> float:
    """This process's CPU seconds, user and system (its threads included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class RssSampler:
    """Samples ``rss_mb`` every ``interval`` seconds on a daemon thread: ``peak`` is the
    highest since the last ``reset``, and while ``t0`` is set (epoch seconds) each sample is
    kept in ``samples`` as (seconds since ``t0``, MB)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.peak = 0
        self.t0 = 0.0
        self.samples: list[tuple[float, int]] = []

    def start(self) -> RssSampler:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def reset(self) -> int:
        """Set the peak to the RSS now and return it (a step's base)."""
        self.peak = base = rss_mb()
        return base

    def _run(self) -> None:
        while True:
            now = rss_mb()
            self.peak = max(self.peak, now)
            if self.t0:
                self.samples.append((round(time.time() - self.t0, 1), now))
            time.sleep(self.interval)


def tree_of(root) -> list:
    """``root`` (a ``psutil.Process``) and every process under it; none once it is gone."""
    import psutil

    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_of(procs) -> int:
    """Bytes resident in ``procs`` (``psutil.Process``), leaving out any gone meanwhile."""
    import psutil

    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total
