"""An offline index of the data-quality results, beside GX's Data Docs.

GX's Data Docs pages load Bootstrap, jQuery and icons from CDNs: without a network (a locked-down
cluster, this build machine) the index shows an empty table and the pages lose their status
icons. ``<lake>/ops/data_docs/summary.html`` is one self-contained page (inline CSS, no script,
no request) listing every validation the pipeline ran, newest run first: table, stage, frame,
passed / warning / failed counts, what did not pass with its observed value, and a link to
GX's own page for the details. It is rebuilt from ``manifest.jsonl`` (one line per validated
frame, appended by :class:`theater.quality.Gate`) each time a stage builds its docs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

import jinja2

MANIFEST = "manifest.jsonl"
INDEX = "summary.html"


def record_entries(directory: str | os.PathLike, entries: Iterable[dict]) -> Path:
    """Append ``entries`` to the manifest and rebuild ``summary.html``; return its path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / MANIFEST
    torn = path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with open(path, "a", encoding="utf-8") as f:
        if torn:  # a killed writer left a partial line: end it, so ours stay readable
            f.write("\n")
        for e in entries:
            f.write(json.dumps(e, default=str, sort_keys=True) + "\n")
    return write_index(d)


def read_manifest(directory: str | os.PathLike) -> list[dict]:
    path = Path(directory) / MANIFEST
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a torn last line from a killed process: skip it
                continue
    return out


def write_index(directory: str | os.PathLike) -> Path:
    d = Path(directory)
    path = d / INDEX
    tmp = d / (INDEX + ".tmp")
    tmp.write_text(render_index(read_manifest(d)), encoding="utf-8")
    os.replace(tmp, path)  # readers never see a half-written page
    return path


def _status(e: dict) -> tuple[str, str]:
    if e.get("failed"):
        return "fail", "failed"
    if e.get("warnings"):
        return "warn", "warning"
    return "pass", "passed"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("theater.quality", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_index(entries: list[dict]) -> str:
    """The page for the manifest ``entries`` (pure: no I/O). Every value is escaped by the
    template (autoescape)."""
    runs: dict[str, list[dict]] = {}
    for e in entries:
        runs.setdefault(e.get("run_id", "?"), []).append(e)
    order = sorted(
        runs, key=lambda r: max(x.get("validated_at", "") for x in runs[r]), reverse=True
    )
    view = []
    for run in order:
        items = sorted(runs[run], key=lambda x: (x.get("validated_at", ""), x.get("table", "")))
        rows = []
        for x in items:
            cls, word = _status(x)
            issues = [("fail", i) for i in x.get("failed", [])] + [
                ("warn", i) for i in x.get("warnings", [])
            ]
            rows.append(
                {
                    "table": x.get("table", ""),
                    "page": x.get("page"),
                    "stage": x.get("stage", ""),
                    "frame": x.get("frame", ""),
                    "status_class": cls,
                    "status": word,
                    "passed": x.get("passed", 0),
                    "n_warnings": len(x.get("warnings", [])),
                    "n_failed": len(x.get("failed", [])),
                    "issues": [
                        (
                            c,
                            {
                                "expectation": i["expectation"],
                                "observed": str(i.get("observed_value", "")),
                            },
                        )
                        for c, i in issues
                    ],
                }
            )
        view.append(
            {
                "run_id": run,
                "stages": ", ".join(dict.fromkeys(x.get("stage", "") for x in items)),
                "when": items[-1].get("validated_at", "")[:19].replace("T", " "),
                "rows": rows,
            }
        )
    return _environment().get_template("dq_index.html").render(runs=view)
