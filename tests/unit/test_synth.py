"""The synthetic landing zone: contract, determinism, truth, dirty records, planted signatures.

Plain pandas/pyarrow/json: no Spark. One small zone (8 orgs, 200 users, 4 weeks) is generated
per module and read back record by record.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import theater
from theater import synth

START, END = date(2026, 7, 6), date(2026, 8, 3)
PARAMS = dict(seed=3, n_orgs=8, n_users=200, start=START, end=END)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
USED = {"accepted", "inserted", "copied", "edited"}
SCHEMA_FILES = {
    "interactions": "interaction",
    "directory": "directory",
    "work_items": "work_item",
    "policies": "policy",
}


# ----------------------------------------------------------------------------- helpers


def _schema(dataset: str) -> dict:
    path = Path(theater.__file__).parent / "contract" / f"{SCHEMA_FILES[dataset]}.schema.json"
    return json.loads(path.read_text())


def _records(path: Path):
    """Yield ("rec", dict) or ("malformed", raw line) for every record of a landing file."""
    name = path.name
    if name.endswith(".parquet"):
        for r in pq.read_table(path).to_pylist():
            yield "rec", r
    elif name.endswith(".csv"):
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                yield "rec", {k: (v if v != "" else None) for k, v in r.items()}
    elif name.endswith(".json"):
        for r in json.loads(path.read_text()):
            yield "rec", r
    else:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    yield "malformed", line
                    continue
                yield ("rec", rec) if isinstance(rec, dict) else ("malformed", line)


def _ts_ok(v: str) -> bool:
    if not isinstance(v, str) or not RFC3339.match(v):
        return False
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _problems(rec: dict, schema: dict) -> list[str]:
    """Contract problems of one record, as kinds (one entry per broken field)."""
    out = []
    required = set(schema["required"])
    for name, spec in schema["properties"].items():
        v = rec.get(name)
        types = spec.get("type", [])
        types = [types] if isinstance(types, str) else types
        if name in required and (
            v is None or (isinstance(v, str) and len(v) < spec.get("minLength", 0))
        ):
            out.append("missing_required")
            continue
        if v is None:
            continue
        if "enum" in spec:
            if v not in spec["enum"]:
                out.append("bad_enum")
            continue
        if "integer" in types:
            try:
                num = int(v) if not isinstance(v, bool) else None
            except (TypeError, ValueError):
                num = None
            if num is None or (isinstance(v, float) and v != int(v)):
                out.append("bad_type")
            elif "minimum" in spec and num < spec["minimum"]:
                out.append("negative_number")
            continue
        if "boolean" in types:
            if not (isinstance(v, bool) or str(v).lower() in ("true", "false")):
                out.append("bad_type")
            continue
        if spec.get("format") == "date-time":
            if not _ts_ok(v):
                out.append("bad_timestamp")
            continue
        if spec.get("format") == "date":
            try:
                ok = bool(DATE.match(v)) and date.fromisoformat(v) is not None
            except ValueError:
                ok = False
            if not ok:
                out.append("bad_timestamp")
            continue
        if not isinstance(v, str):
            out.append("bad_type")
        elif "pattern" in spec and not re.match(spec["pattern"], v):
            out.append("bad_pattern")
        elif len(v) < spec.get("minLength", 0):
            out.append("missing_required")
    return out


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601")


def _hash_tree(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _unused(df: pd.DataFrame) -> pd.Series:
    disp = df["output_disposition"]
    dwell = pd.to_numeric(df["dwell_ms"], errors="coerce")
    return disp.isin(["discarded", "ignored"]) | (~disp.isin(list(USED)) & (dwell < 5000))


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    summary = synth.generate(out, dirty=True, **PARAMS)
    return out, summary


@pytest.fixture(scope="module")
def scanned(zone):
    """Every record of every landing file, with its contract problems."""
    out, _ = zone
    landing = out / "landing"
    recs = []
    for dataset in SCHEMA_FILES:
        schema = _schema(dataset)
        for path in sorted((landing / dataset).rglob("*")):
            if not path.is_file():
                continue
            rel = str(path.relative_to(landing))
            for kind, rec in _records(path):
                if kind == "malformed":
                    m = re.search(r'"event_id":"([^"]*)"', rec)
                    recs.append((dataset, rel, None, ["malformed_line"], m.group(1) if m else ""))
                else:
                    recs.append(
                        (dataset, rel, rec, _problems(rec, schema), rec.get("event_id") or "")
                    )
    return recs


@pytest.fixture(scope="module")
def events(zone, scanned):
    """Valid unique interactions joined with the truth."""
    out, _ = zone
    rows = [r[2] for r in scanned if r[0] == "interactions" and not r[3]]
    df = pd.DataFrame(rows).drop_duplicates(["tool", "event_id"])
    truth = pd.read_csv(out / "truth" / "interactions.csv", dtype={"event_id": str})
    df = df.merge(truth, on=["tool", "event_id"], how="left", suffixes=("", "_truth"))
    df["ts"] = _utc(df["event_ts"])
    df["prompt_tokens"] = pd.to_numeric(df["prompt_tokens"])
    df["dwell_ms"] = pd.to_numeric(df["dwell_ms"])
    df["unused"] = _unused(df)
    return df


@pytest.fixture(scope="module")
def policies(zone):
    out, _ = zone
    rows = []
    for p in sorted((out / "landing" / "policies").iterdir()):
        rows += [r for _, r in _records(p)]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- contract


def test_generate_every_record_obeys_contract_except_listed_bad_ones(zone, scanned):
    out, _ = zone
    dirty = pd.read_csv(out / "truth" / "dirty.csv", dtype=str, keep_default_na=False)
    expected = Counter(zip(dirty["file"], dirty["kind"], dirty["event_id"]))
    found = Counter()
    for dataset, rel, _rec, problems, eid in scanned:
        if problems:
            assert len(problems) == 1, (rel, eid, problems)  # bad for exactly one reason
            found[(rel, problems[0], eid if dataset == "interactions" else "")] += 1
    assert found == expected


def test_generate_interactions_cover_formats_offsets_and_extras(zone, scanned, events):
    out, summary = zone
    files = [p.name for p in (out / "landing" / "interactions").rglob("*") if p.is_file()]
    for ext in (".parquet", ".jsonl", ".jsonl.gz", ".json", ".csv"):
        assert any(f.endswith(ext) and not f.endswith(ext + ".gz") for f in files), ext
    assert all(summary["files"][f] >= 1 for f in synth.FORMATS)
    for ds in ("directory", "work_items", "policies"):
        exts = {p.suffix for p in (out / "landing" / ds).iterdir()}
        assert len(exts) >= 2, ds
    offsets = events["event_ts"].str.extract(r"(Z|[+-]\d\d:\d\d)$")[0]
    assert {"Z", "+02:00", "+05:30"} <= set(offsets) and offsets.nunique() >= 5
    assert events["event_ts"].str.contains(r"\.\d{3}").any()
    extra = {k for _, _, rec, _, _ in scanned if rec for k in rec}
    extra -= set(_schema("interactions")["properties"])
    extra -= set(_schema("directory")["properties"]) | set(_schema("work_items")["properties"])
    extra -= set(_schema("policies")["properties"])
    assert {"client_version", "region", "meta"} <= extra
    assert (
        events["user_id"].str.contains("@").any() and events["user_id"].str.match(r"^u\d{6}$").any()
    )
    # instants fall inside the period
    assert events["ts"].min() >= pd.Timestamp(START, tz="UTC")
    assert events["ts"].max() < pd.Timestamp(END, tz="UTC")
    # tools report fields partially
    cli = events[events["tool"] == "cli"]
    assert cli["output_disposition"].isna().all() and cli["dwell_ms"].isna().all()
    assistant = events[events["tool"] == "assistant"]
    assert 0.4 < assistant["artifact_id"].isna().mean() < 0.9
    assert (events["event_id"].str.len() > 0).all()


def test_generate_org_ids_match_directory_as_of_event_date(zone, events):
    out, _ = zone
    d = pd.concat(
        [
            pd.DataFrame([r for _, r in _records(p)])
            for p in sorted((out / "landing" / "directory").iterdir())
        ]
    )
    d = d[
        d["valid_from"].str.match(r"^\d{4}-\d{2}-\d{2}$")
        & pd.to_datetime(d["valid_from"], errors="coerce").notna()
    ]
    assert (d.groupby("user_id").size() == 2).sum() >= 3  # movers
    day = events["ts"].dt.tz_localize(None).dt.normalize()
    m = events[["user_id"]].assign(day=day, org_row=events["org_id"], i=range(len(events)))
    m = m.merge(d, on="user_id", how="left")
    vf = pd.to_datetime(m["valid_from"])
    vt = pd.to_datetime(m["valid_to"]).fillna(pd.Timestamp("2100-01-01"))
    cover = m[(vf <= m["day"]) & (m["day"] < vt)]
    assert cover["i"].is_unique and len(cover) == len(events)  # every event resolves, once
    given = cover[cover["org_row"].notna()]
    assert (given["org_row"] == given["org_id"]).all()
    assert 0.08 < events["org_id"].isna().mean() < 0.3
    truth_org = cover.sort_values("i")["org_id"].to_numpy()
    assert (truth_org == events["org_id_truth"].to_numpy()).all()


# ----------------------------------------------------------------------------- determinism, truth


def test_generate_is_deterministic_per_seed(zone, tmp_path):
    out, _ = zone
    again = tmp_path / "again"
    synth.generate(again, dirty=True, **PARAMS)
    assert _hash_tree(out) == _hash_tree(again)
    other = tmp_path / "other"
    synth.generate(other, dirty=True, **{**PARAMS, "seed": 4})
    assert _hash_tree(out) != _hash_tree(other)


def test_generate_truth_matches_unique_valid_events(zone, scanned, events):
    out, summary = zone
    truth = pd.read_csv(out / "truth" / "interactions.csv", dtype={"event_id": str})
    assert not truth.duplicated(["tool", "event_id"]).any()
    valid = [
        (r[2]["tool"], r[2]["event_id"]) for r in scanned if r[0] == "interactions" and not r[3]
    ]
    assert set(valid) == set(zip(truth["tool"], truth["event_id"]))
    assert len(truth) == summary["interactions"] == len(events)
    assert len(valid) - len(set(valid)) == summary["duplicates"]["total"] > 0
    assert set(truth["mechanism"]) == set(synth.MECHANISMS)
    assert ((truth["mechanism"] != "none") == (truth["is_theater"] == 1)).all()
    orgs = pd.read_csv(out / "truth" / "orgs.csv")
    share = events.groupby("org_id_truth")["is_theater"].mean()
    assert np.allclose(orgs.set_index("org_id").loc[share.index, "theater_share"], share, atol=1e-6)
    assert orgs["n_interactions"].sum() == len(truth)


def test_generate_dirty_summary_matches_dirty_csv(zone):
    out, _ = zone
    dirty = pd.read_csv(out / "truth" / "dirty.csv", dtype=str, keep_default_na=False)
    saved = json.loads((out / "truth" / "summary.json").read_text())
    counts = dirty["kind"].value_counts().to_dict()
    assert saved["bad_records"] == {k: counts.get(k, 0) for k in synth.BAD_KINDS}
    assert all(v > 0 for v in saved["bad_records"].values())
    assert saved["bad_total"] == len(dirty)
    assert 20 <= len(dirty) <= 500
    assert set(dirty["dataset"]) == {"interactions", "directory", "work_items"}
    mal = dirty[dirty["kind"] == "malformed_line"]["file"]
    assert mal.str.contains(r"\.jsonl(?:\.gz)?$").all()
    fmts = {f.split(".", 1)[1] for f in dirty[dirty["dataset"] == "interactions"]["file"]}
    assert {"parquet", "csv", "json", "jsonl"} <= fmts
    assert saved["duplicates"]["files"] and saved["duplicates"]["resent_events"] > 0


def test_generate_clean_and_parquet_only(tmp_path):
    s = synth.generate(tmp_path / "z", formats="parquet", **PARAMS)
    files = [p for p in (tmp_path / "z" / "landing").rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".parquet" for p in files)
    assert s["bad_total"] == 0 and s["duplicates"]["total"] == 0
    assert (
        tmp_path / "z" / "truth" / "dirty.csv"
    ).read_text().strip() == "dataset,file,kind,event_id"
    assert s["files"]["parquet"] == sum(s["files"].values())


def test_generate_namespace_prefixes_every_identifier_and_nothing_else(tmp_path):
    """Shards of one large company (``namespace``): the same world with every id prefixed."""
    params = {**PARAMS, "formats": "parquet"}
    plain = synth.generate(tmp_path / "plain", **params)
    shard = synth.generate(tmp_path / "shard", namespace="s2-", **params)
    assert shard["interactions"] == plain["interactions"]
    assert shard["params"]["namespace"] == "s2-"

    def table(root, rel):
        return pq.read_table(root / "landing" / rel)

    for rel in [
        p.relative_to(tmp_path / "plain" / "landing")
        for p in sorted((tmp_path / "plain" / "landing").rglob("*.parquet"))
    ]:
        a, b = table(tmp_path / "plain", rel), table(tmp_path / "shard", rel)
        assert a.num_rows == b.num_rows and a.schema == b.schema, rel
        for name in a.column_names:
            x, y = a.column(name), b.column(name)
            if name in (
                "event_id",
                "session_id",
                "artifact_id",
                "work_item_id",
                "user_id",
                "org_id",
                "artifact_author_id",
            ):
                assert x.null_count == y.null_count, (rel, name)
                # "*" (every org, in the review calendar) stays the wildcard
                expected = [v if v in (None, "*") else "s2-" + v for v in x.to_pylist()]
                assert y.to_pylist() == expected, (rel, name)
            elif name != "note":
                assert x.equals(y), (rel, name)
    truth = pd.read_csv(tmp_path / "shard" / "truth" / "orgs.csv")
    assert truth["org_id"].str.startswith("s2-org-").all()
    with pytest.raises(ValueError, match="namespace"):
        synth.generate(tmp_path / "bad", namespace="s3-", dirty=True, **PARAMS)


# ----------------------------------------------------------------------------- planted signatures


def _action_quantiles(events):
    g = events.groupby("action")["prompt_tokens"]
    return g.quantile(0.1), g.quantile(0.9)


def test_generate_genuine_prompts_are_normal(events):
    gen = events[events["mechanism"] == "none"]
    assert (gen["prompt_tokens"] >= 20).all()
    assert (gen.groupby("action")["prompt_tokens"].quantile(0.1) > 30).all()
    reported = gen[gen["tool"] != "cli"]  # cli never reports what happened to outputs
    used = reported["output_disposition"].isin(list(USED)).mean()
    assert 0.75 < used < 0.95
    assert 0.005 < gen["unused"].mean() < 0.05  # honest failures only


def test_generate_discard_and_padding_signatures(events):
    _, p90 = _action_quantiles(events)
    d = events[events["mechanism"] == "discard"]
    assert len(d) and d["unused"].all()
    p = events[events["mechanism"] == "padding"]
    assert len(p) and p["unused"].all()
    assert (p["prompt_tokens"] > p["action"].map(p90)).all()


def test_generate_self_summary_signature(events):
    s = events[events["mechanism"] == "self_summary"]
    assert len(s)
    assert (s["action"] == "summarize").all()
    assert (s["artifact_author_id"] == s["user_id"]).all()
    age = s["ts"] - _utc(s["artifact_modified_ts"])
    assert (age >= pd.Timedelta(days=7)).all()
    assert s["unused"].all()
    # genuine summaries never look like it: other author, fresh own doc, or used
    g = events[
        (events["mechanism"] != "self_summary")
        & (events["action"] == "summarize")
        & (events["artifact_author_id"] == events["user_id"])
    ]
    g_age = g["ts"] - _utc(g["artifact_modified_ts"])
    assert not ((g_age >= pd.Timedelta(days=7)) & g["unused"]).any()


def _hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def _repeat_fires(events) -> pd.Series:
    """The repeat-prompt rule, literally (user, 7 days, Hamming <= 3, same artifact, unused)."""
    fired = pd.Series(False, index=events.index)
    e = events[events["prompt_fingerprint"].notna()]
    for _, grp in e.groupby("user_id"):
        grp = grp.sort_values("ts")
        fps = [int(x, 16) for x in grp["prompt_fingerprint"]]
        ts = grp["ts"].to_numpy()
        art = grp["artifact_id"].to_numpy()
        unused = grp["unused"].to_numpy()
        used = grp["output_disposition"].isin(list(USED)).to_numpy()
        for i in range(len(grp)):
            if used[i]:
                continue
            for j in range(i - 1, -1, -1):
                if ts[i] - ts[j] > np.timedelta64(7, "D"):
                    break
                same_art = (
                    (art[i] == art[j])
                    or (art[i] is None and art[j] is None)
                    or (pd.isna(art[i]) and pd.isna(art[j]))
                )
                if ts[j] < ts[i] and unused[j] and same_art and _hamming(fps[i], fps[j]) <= 3:
                    fired[grp.index[i]] = True
                    break
    return fired


def test_generate_repeat_signature_and_no_false_repeats(events):
    fired = _repeat_fires(events)
    rep = events["mechanism"] == "repeat"
    assert rep.sum() > 0 and fired[rep].all()
    assert not fired[events["mechanism"] == "none"].any()


def _fragment_fires(events, p10) -> pd.Series:
    short = events["prompt_tokens"] < events["action"].map(p10)
    fired = pd.Series(False, index=events.index)
    e = events[short & events["artifact_id"].notna()]
    for _, grp in e.groupby(["user_id", "artifact_id"]):
        if len(grp) < 5:
            continue
        t = grp["ts"].astype("int64").to_numpy() // 10**9
        order = np.argsort(t)
        t = t[order]
        n_fwd = np.searchsorted(t, t + 1800, side="right") - np.arange(len(t))
        starts = t[n_fwd >= 5]
        for k, ti in enumerate(t):
            if ((starts <= ti) & (ti <= starts + 1800)).any():
                fired[grp.index[order[k]]] = True
    return fired


def test_generate_fragment_signature_and_no_false_fragments(events):
    p10, _ = _action_quantiles(events)
    f = events[events["mechanism"] == "fragment"]
    assert len(f) >= 5
    assert (f["prompt_tokens"] <= 8).all() and (f["action"].map(p10) > 8).all()
    fired = _fragment_fires(events, p10)
    assert fired[f.index].all()
    assert not fired[events["mechanism"] == "none"].any()


def test_generate_quota_fillers_land_at_quota(events, policies):
    q = policies[policies["kind"] == "quota"].copy()
    assert len(q) and (pd.to_numeric(q["weekly_quota"]) % 5 == 0).all()
    ev = events.assign(
        week=(
            events["ts"].dt.tz_localize(None).dt.normalize()
            - pd.to_timedelta(events["ts"].dt.weekday, unit="D")
        )
    )
    counts = ev.groupby(["user_id", "week"]).size()
    fill = ev[ev["mechanism"] == "quota_filler"]
    assert len(fill)
    for (user, week, org), _ in fill.groupby(["user_id", "week", "org_id_truth"]):
        rows = q[
            (q["org_id"] == org)
            & (pd.to_datetime(q["start_date"]) <= week)
            & (pd.to_datetime(q["end_date"]).fillna(pd.Timestamp("2100-01-01")) > week)
        ]
        assert len(rows) == 1, (org, week)
        quota = int(rows["weekly_quota"].iloc[0])
        assert counts[(user, week)] in (quota, quota + 1)
    quota_orgs = set(q["org_id"])
    assert set(fill["org_id_truth"]) <= quota_orgs
    assert 0.6 < fill["unused"].mean() < 0.9


def test_generate_checkpoint_bursts_in_three_working_days_before(events, policies):
    ck = policies[policies["kind"] == "checkpoint"]
    assert (ck["org_id"] == "*").any()
    windows: dict[str, set] = {}
    for org in events["org_id_truth"].unique():
        dates = ck[(ck["org_id"] == "*") | (ck["org_id"] == org)]["start_date"]
        days = set()
        for d in dates:
            c, n = date.fromisoformat(d) - timedelta(days=1), 0
            while n < 3:
                if c.weekday() < 5:
                    days.add(c)
                    n += 1
                c -= timedelta(days=1)
        windows[org] = days
    b = events[events["mechanism"] == "checkpoint_burst"]
    assert len(b)
    bday = b["ts"].dt.date
    assert all(d in windows[o] for d, o in zip(bday, b["org_id_truth"]))
    assert 0.6 < b["unused"].mean() < 0.9


def test_generate_hard_negatives_present(events, zone):
    gen = events[events["mechanism"] == "none"]
    # shared templates: one fingerprint, many users, used outputs, different artifacts per user
    fp = gen.groupby("prompt_fingerprint").agg(
        users=("user_id", "nunique"), n=("user_id", "size"), arts=("artifact_id", "nunique")
    )
    templates = fp[fp["users"] >= 5]
    assert len(templates) >= 3
    trows = gen[gen["prompt_fingerprint"].isin(templates.index) & (gen["tool"] != "cli")]
    assert trows["output_disposition"].isin(list(USED)).all()
    assert (templates["arts"] == templates["n"]).all()
    # iterative chats: one session, one artifact, several turns, last accepted
    chats = gen[gen["session_id"].notna() & gen["artifact_id"].notna()]
    sizes = chats.groupby(["session_id", "artifact_id"]).size()
    assert (sizes >= 3).sum() >= 5
    # heavy genuine users exist
    per_user = events.groupby("user_id").agg(n=("is_theater", "size"), th=("is_theater", "mean"))
    heavy = per_user[per_user["n"] > 3 * per_user["n"].median()]
    assert len(heavy) and (heavy["th"] < 0.05).any()
    # round-number heaping in orgs without a quota
    out, _ = zone
    pol = pd.concat(
        [
            pd.DataFrame([r for _, r in _records(p)])
            for p in (out / "landing" / "policies").iterdir()
        ]
    )
    no_quota = set(events["org_id_truth"]) - set(pol[pol["kind"] == "quota"]["org_id"])
    ev = events[events["org_id_truth"].isin(no_quota)]
    counts = ev.groupby(["user_id", ev["ts"].dt.isocalendar().week]).size()
    assert ((counts == 10) | (counts == 20)).sum() >= 5


def test_generate_org_mix_spans_theater_and_privacy_cases(zone):
    out, _ = zone
    orgs = pd.read_csv(out / "truth" / "orgs.csv")
    assert orgs["theater_share"].min() < 0.03
    assert orgs["theater_share"].max() > 0.25
    assert (orgs["n_users"] < 10).any()
    assert (orgs["top_user_share"] > 0.5).any()
    assert orgs["has_quota"].any() and orgs["has_mandate"].any() and not orgs["has_quota"].all()


def test_generate_default_size_is_in_range(tmp_path):
    s = synth.generate(tmp_path / "d", formats="parquet", n_orgs=24, n_users=1500)
    assert 250_000 <= s["interactions"] <= 500_000
