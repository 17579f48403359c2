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

import html
import json
import os
from pathlib import Path
from typing import Iterable

MANIFEST = "manifest.jsonl"
INDEX = "summary.html"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1b1b}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 6px}
p.note{color:#555;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:4px 0 12px}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#006d2c}.warn{color:#8a5300}.fail{color:#b2182b;font-weight:600}
ul{margin:2px 0;padding-left:18px} code{font-size:12px}
"""


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
    os.replace(tmp, path)   # readers never see a half-written page
    return path


def _status(e: dict) -> tuple[str, str]:
    if e.get("failed"):
        return "fail", "failed"
    if e.get("warnings"):
        return "warn", "warning"
    return "pass", "passed"


def render_index(entries: list[dict]) -> str:
    """The page for the manifest ``entries`` (pure: no I/O)."""
    esc = html.escape
    runs: dict[str, list[dict]] = {}
    for e in entries:
        runs.setdefault(e.get("run_id", "?"), []).append(e)
    order = sorted(runs, key=lambda r: max(x.get("validated_at", "") for x in runs[r]),
                   reverse=True)
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>theater-index data quality</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>Data quality: Great Expectations results</h1>",
             "<p class='note'>Every table is validated before it is published. Critical "
             "failures stop the stage (nothing is written); warnings are recorded and the stage "
             "goes on. The same records are in the Delta table <code>ops/dq_results</code>. "
             "Links open GX's page for each validation (styled when a network is available).</p>"]
    if not order:
        parts.append("<p>No validations recorded yet.</p>")
    for run in order:
        items = sorted(runs[run], key=lambda x: (x.get("validated_at", ""), x.get("table", "")))
        when = items[-1].get("validated_at", "")[:19].replace("T", " ")
        stages = ", ".join(dict.fromkeys(x.get("stage", "") for x in items))
        parts.append(f"<h2>Run <code>{esc(run)}</code> &middot; {esc(stages)} &middot; "
                     f"{esc(when)} UTC</h2>")
        parts.append("<table><thead><tr><th>table</th><th>stage</th><th>checks</th>"
                     "<th>status</th><th class='n'>passed</th><th class='n'>warnings</th>"
                     "<th class='n'>failed</th><th>did not pass (observed)</th></tr></thead><tbody>")
        for x in items:
            cls, word = _status(x)
            issues = [("fail", i) for i in x.get("failed", [])] + \
                     [("warn", i) for i in x.get("warnings", [])]
            lst = "".join(f"<li class='{c}'>{esc(i['expectation'])}: "
                          f"{esc(str(i.get('observed_value', '')))}</li>" for c, i in issues)
            page = x.get("page")
            name = esc(x.get("table", ""))
            link = f"<a href='{esc(page, quote=True)}'>{name}</a>" if page else name
            parts.append(
                f"<tr><td>{link}</td><td>{esc(x.get('stage', ''))}</td>"
                f"<td>{esc(x.get('frame', ''))}</td><td class='{cls}'>{word}</td>"
                f"<td class='n'>{x.get('passed', 0)}</td>"
                f"<td class='n'>{len(x.get('warnings', []))}</td>"
                f"<td class='n'>{len(x.get('failed', []))}</td>"
                f"<td>{'<ul>' + lst + '</ul>' if lst else ''}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)
