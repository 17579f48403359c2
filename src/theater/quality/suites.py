"""Suites are files: ``expectations/<layer>_<table>.json`` in GX's own suite JSON, checked
on load (every expectation has a known ``meta.severity`` and ``meta.frame``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..config import Config, ConfigError
from ..sources.exports.reader import quarantine_datasets
from .runner import GX

DQ_TABLE = "ops/dq_results"
SEVERITIES = ("critical", "warning")
FRAMES = ("rows", "summary", "daily_volume", "files")
PROJECT_ROOT = Path(__file__).resolve().parents[3]


class SuiteError(ConfigError):
    """A suite file is missing or malformed (exit code 2, like any configuration error)."""


def suite_file_name(table: str) -> str:
    return table.replace("/", "_") + ".json"


def suites_dir(cfg: Config) -> Path:
    """``quality.suites_dir``: absolute, or relative to the working directory, else to the
    project root."""
    raw = cfg.quality.suites_dir
    p = Path(raw)
    if p.is_absolute() or p.is_dir():
        return p
    return PROJECT_ROOT / p


def load_suite_json(table: str, directory: Path) -> dict:
    """The suite JSON for ``table``, checked: every expectation has a known severity and frame."""
    path = Path(directory) / suite_file_name(table)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SuiteError(f"no data-quality suite for {table}: {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path}: a GX suite needs 'name' and a list 'expectations'")
    data.setdefault("name", path.stem)
    for i, e in enumerate(data["expectations"]):
        meta = e.get("meta") or {}
        where = f"{path}: expectation {i} ({meta.get('name') or e.get('type')})"
        if meta.get("severity") not in SEVERITIES:
            raise SuiteError(
                f"{where}: meta.severity must be one of {list(SEVERITIES)}, "
                f"got {meta.get('severity')!r}"
            )
        if meta.get("frame", "rows") not in FRAMES:
            raise SuiteError(f"{where}: meta.frame must be one of {list(FRAMES)}")
    data["_path"] = str(path)
    return data


def load_suite(table: str, directory: Path):
    """The GX ExpectationSuite for ``table`` (raises :class:`SuiteError` when GX refuses it)."""
    GX.context()  # imports GX once (waits for a prewarm in progress)
    from great_expectations.core.expectation_suite import ExpectationSuite

    data = load_suite_json(table, directory)
    try:
        return ExpectationSuite(**{k: v for k, v in data.items() if not k.startswith("_")})
    except Exception as exc:  # GX raises pydantic / its own errors for unknown types, bad kwargs
        raise SuiteError(f"{data['_path']}: GX cannot load the suite: {exc}") from None


def expectation_name(e: dict) -> str:
    meta = e.get("meta") or {}
    if meta.get("name"):
        return meta["name"]
    kw = e.get("kwargs") or {}
    cols = kw.get("column") or kw.get("column_list") or [kw.get("column_A"), kw.get("column_B")]
    if isinstance(cols, list):
        cols = ",".join(str(c) for c in cols if c)
    return f"{e['type']}({cols or ''})"


def parameters(cfg: Config, period=None) -> dict:
    """The suites' parameters (``{"$PARAMETER": name}``) from the configuration: k, the
    quarantine shares, the volume ratios, the quarantine's dataset values and, with a
    ``period`` (:class:`theater.period.Period`), its bounds widened by the late-data tolerance."""
    q = cfg.quality
    p: dict[str, Any] = {
        "min_users": cfg.privacy.min_users,
        "quarantine_warn_share": q.quarantine_warn_share,
        "quarantine_fail_share": q.quarantine_fail_share,
        "volume_min_ratio": q.volume_min_ratio,
        "volume_max_ratio": q.volume_max_ratio,
        "quarantine_datasets": quarantine_datasets(),
    }
    if period is not None:
        tol = timedelta(days=q.late_tolerance_days)
        start = datetime.combine(period.start, datetime.min.time())
        end = datetime.combine(period.end, datetime.min.time())
        p.update(
            {
                "period_start": period.start.isoformat(),
                "period_end": period.end.isoformat(),
                "ts_min": start - tol,
                "ts_max": end + tol - timedelta(microseconds=1),
                "date_min": (period.start - tol).isoformat(),
                "date_max": (period.end + tol - timedelta(days=1)).isoformat(),
            }
        )
    return p
