"""What the synthetic export writers share: the delivery being written (:class:`Delivery`: where,
aliases, per-org choices, counts), ids and timestamps as vendors write them, prompt texts from
fingerprints, and the native rows as plain lists."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ...sources.exports.rows import INTERACTION_FIELDS
from ...sources.stream import OTLP_KEYS
from ..vocab import USED

DAY_MS = 86_400_000


ACCOUNT = "480213579246"


APP_OF_ACTION = {
    "summarize": "Word",
    "rewrite": "Word",
    "generate": "Word",
    "chat": "Teams",
    "search": "BizChat",
    "review": "Outlook",
    "other": "Excel",
    "complete": "Word",
    "code_edit": "Word",
    "agent": "BizChat",
}


UUID_NS = "theater-vendor-delivery"


def digest(text: str, n: int = 32) -> str:
    return hashlib.sha256(f"{UUID_NS}|{text}".encode()).hexdigest()[:n]


def uuid_of(text: str) -> str:
    x = digest(text)
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-8{x[17:20]}-{x[20:32]}"


def iso_ms(ms: int) -> str:
    s, r = divmod(int(ms), 1000)
    t = str(np.datetime64(s, "s"))
    return f"{t}.{r:03d}Z"


def iso_s(ms: int) -> str:
    return str(np.datetime64(int(ms) // 1000, "s"))


def day_of(ms) -> str:
    return str(np.datetime64(int(ms) // DAY_MS, "D"))


# words for each byte of the fingerprint: BYTE_WORDS[k][b] spells bits 8k..8k+7 of byte value b
BYTE_WORDS = [
    [" ".join(f"b{8 * k + i}{'x' if (b >> i) & 1 else 'y'}" for i in range(8)) for b in range(256)]
    for k in range(8)
]


def prompt_text(fingerprint: str | None) -> str | None:
    """Synthetic prompt text standing for a native fingerprint (see the module docstring)."""
    if not fingerprint:
        return None
    v = int(fingerprint, 16)
    return " ".join(BYTE_WORDS[k][(v >> (8 * k)) & 0xFF] for k in range(8))


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_text(path: Path, text: str, *, gz: bool = False, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    if gz:
        with open(path, "wb") as fh:  # mtime 0: same seed -> same bytes
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="", compresslevel=1) as gzf:
                gzf.write(data)
    else:
        path.write_bytes(data)


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


class Delivery:
    def __init__(
        self, out: Path, alias: dict[str, dict[str, str]], seed: int, formats: tuple[str, ...]
    ):
        self.root = out / "landing" / "vendor"
        self.alias = alias  # kind -> {user_id: alias}
        self.seed = seed
        self._flags: dict[tuple, bool] = {}
        self.counts: dict[str, dict[str, int]] = {
            f: {
                "files": 0,
                "records": 0,
                "interactions": 0,
                "interaction_updates": 0,
                "user_days": 0,
                "org_days": 0,
                "quarantined": 0,
            }
            for f in formats
        }

    def a(self, kind: str, user: str) -> str:
        return self.alias[kind][user]

    def flag(self, org: str, what: str, share: float = 0.5) -> bool:
        """A deterministic per-org yes/no (e.g. 'logs prompts')."""
        key = (org, what, share)
        if key not in self._flags:
            self._flags[key] = int(digest(f"{self.seed}|{org}|{what}", 8), 16) / 0xFFFFFFFF < share
        return self._flags[key]

    def add(self, fmt: str, **kw: int) -> None:
        for k, v in kw.items():
            self.counts[fmt][k] += int(v)


def lists(d: pd.DataFrame, cols) -> list[list]:
    """Columns as Python lists, missing values as None (no per-value pandas access)."""
    out = []
    for c in cols:
        s = d[c]
        if s.dtype == object:
            out.append([None if v is None or v != v else v for v in s.tolist()])
        else:
            out.append(s.astype(object).where(s.notna(), None).tolist())
    return out


#: The native fields a delivery reads (contract order): no vendor export carries dwell, the
#: artifact's author or modification time, or the work item.
NATIVE_COLUMNS = tuple(
    f
    for f in INTERACTION_FIELDS
    if f not in ("dwell_ms", "artifact_author_id", "artifact_modified_ts", "work_item_id")
)
#: The same, as the writers see them: the instant as epoch ms, the org as ``org``.
ROW_COLS = tuple({"event_ts": "ms", "org_id": "org"}.get(f, f) for f in NATIVE_COLUMNS)


def rows_of(d: pd.DataFrame) -> list[dict]:
    return [dict(zip(ROW_COLS, vals)) for vals in zip(*lists(d, ROW_COLS))]


def records_of(g: pd.DataFrame) -> list[dict]:
    cols = list(g.columns)
    return [dict(zip(cols, vals)) for vals in zip(*lists(g, cols))]


def runs(recs: list[dict], keys: tuple) -> list[list[dict]]:
    """Consecutive records with the same key values (input sorted by those keys)."""
    out: list[list[dict]] = []
    last = object()
    for r in recs:
        k = tuple(r[x] for x in keys)
        if k != last:
            out.append([])
            last = k
        out[-1].append(r)
    return out


def kv(key: str, value) -> dict:
    if type(value) is str:
        return {"key": key, "value": {"stringValue": value}}
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def otlp_doc(root: str, resource: list[dict], scope: dict, items: list[dict]) -> dict:
    """An OTLP/JSON export (``root``: ``resourceLogs`` or ``resourceSpans``, shaped as the
    reader expects them, :data:`theater.sources.stream.OTLP_KEYS`) of one resource (its
    attributes, :func:`kv`) and one instrumentation scope holding ``items``."""
    scopes, key = OTLP_KEYS[root]
    return {
        root: [
            {
                "resource": {"attributes": resource},
                scopes: [{"scope": scope, key: items}],
            }
        ]
    }


def prep_agg(d: pd.DataFrame) -> pd.DataFrame:
    d = d.copy()
    d["day"] = [day_of(v) for v in (d["ms"] // DAY_MS * DAY_MS)]
    disp = d["output_disposition"]
    d["used"] = disp.isin(USED).astype("int64")
    d["discarded"] = (disp == "discarded").astype("int64")
    d["ignored"] = (disp == "ignored").astype("int64")
    d["lines"] = (d["completion_tokens"].fillna(0).astype("int64") // 12).astype("int64")
    d["lines_used"] = d["lines"] * d["used"]
    d["n"] = 1
    return d
