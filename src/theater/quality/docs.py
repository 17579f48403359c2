"""Data Docs: GX's site of the validation results, and an offline index beside it.

A gate keeps its Data Docs as plain data (:class:`Kept`) and renders them at the end of its
stage, or hands them to the :func:`deferred_docs` block of a pipeline run, which renders all
of them once after the last stage (:func:`build_docs`: GX's site builder).

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
import logging
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import jinja2

from . import metrics
from .results import doc_entry
from .runner import GX

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
INDEX = "summary.html"

# Data Docs to render later (a pipeline run: once, after the last stage), else None
_DEFERRED: list | None = None
# whether this process renders the deferred docs, so GX may be imported ahead (a stage process
# hands them to its parent and never imports GX for them)
_PREWARM = False
# GX Data Docs sites added to this process's context
_SITES: set = set()


@contextmanager
def deferred_docs(prewarm: bool = False):
    """Within this block, gates keep their Data Docs as plain data (the list yielded) instead
    of rendering them at the end of each stage: the caller renders them with
    :func:`build_docs` once the tables are published (GX imported once, off the stages'
    path). A stage that fails a critical expectation still renders its docs before raising.
    ``prewarm``: the caller renders them in this process; GX is imported in a background
    thread from the first result kept (:meth:`.GX.prewarm`)."""
    global _DEFERRED, _PREWARM
    before = _DEFERRED, _PREWARM
    _DEFERRED, _PREWARM = [], prewarm
    try:
        yield _DEFERRED
    finally:
        _DEFERRED, _PREWARM = before


def deferring() -> bool:
    return _DEFERRED is not None


class Kept:
    """One stage's Data Docs as plain data, until :meth:`render`."""

    def __init__(self, directory: str, run_name: str, enabled: bool):
        self.directory, self.run_name, self.enabled = directory, run_name, enabled
        self.docs: list[dict] = []

    def keep(self, data: dict, table: str, frame: str, outcomes, records: list[dict]) -> None:
        if self.enabled:
            if _DEFERRED is None or _PREWARM:
                # this process renders them: GX (about 2.5 CPU s to import) is imported in a
                # background thread while the stage goes on; not before a first result, so a
                # run that validates nothing (no new files) never imports it
                GX.prewarm()
            self.docs.append(
                {
                    "directory": self.directory,
                    "suite": data["name"],
                    "suite_meta": data.get("meta") or {},
                    "batch": f"{table.replace('/', '_')}-{frame}",
                    "run_name": self.run_name,
                    "outcomes": outcomes,
                    "entry": doc_entry(records, frame),
                }
            )

    def render(self, now: bool = False) -> bool:
        """Render the kept docs now, or hand them to the :func:`deferred_docs` block around the
        stage; True when rendered here."""
        if not self.docs:
            return False
        docs, self.docs = self.docs, []
        if _DEFERRED is not None and not now:
            _DEFERRED.extend(docs)
            return False
        build_docs(docs)
        return True


def build_docs(docs: list[dict]) -> None:
    """Render kept Data Docs (:class:`Kept`) with GX's site builder, and the offline index; one
    build per lake. Docs are for people: a failure is logged, never raised."""
    by_dir: dict[str, list[dict]] = {}
    for d in docs:
        by_dir.setdefault(d["directory"], []).append(d)
    for directory, items in by_dir.items():
        if "://" not in directory:  # GX's filesystem store wants an absolute base directory
            directory = os.path.abspath(directory)
        try:
            # GX first, through its lock: a prewarm thread still importing it is waited for,
            # never joined by a second import of its modules (two threads importing one
            # package fail: "partially initialized module 'great_expectations.core'")
            GX.context()
            keys = [
                _store_result(
                    d["suite"],
                    d["batch"],
                    d["run_name"],
                    metrics.to_gx_result(d["suite"], d["suite_meta"], d["outcomes"]),
                )
                for d in items
            ]
            _build_site(directory, keys)
            # GX's page for each result: validations/<suite>/<run name>/<run time>/<batch>.html
            entries = [
                {**d["entry"], "page": "validations/" + "/".join(k.to_tuple()) + ".html"}
                for k, d in zip(keys, items)
            ]
            record_entries(directory, entries)
        except Exception as exc:  # noqa: BLE001 - docs are for people; never fail the run
            log.warning("data docs not written: %s", exc)


def _store_result(suite_name: str, batch_id: str, run_name: str, result):
    """Keep a validation result in the GX context's (in-memory) store; return its key."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
        run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc)),
        batch_identifier=batch_id,
    )
    GX.context().validation_results_store.set(key, result)
    return key


def _build_site(directory: str, keys: list) -> None:
    """Render the given results and the index into GX's site at ``directory``."""
    ctx = GX.context()
    site = "lake_" + uuid.uuid5(uuid.NAMESPACE_URL, directory).hex[:8]
    if site not in _SITES:
        ctx.add_data_docs_site(
            site,
            {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": directory,
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        _SITES.add(site)
    ctx.build_data_docs(site_names=[site], resource_identifiers=keys)


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
