"""Everyday operations on a vendor lake: a changed pseudonym key, the demo key on the cluster,
and identity conflicts planted in a re-delivered identities file.

One small vendor delivery (6 orgs, 60 users, two weeks) goes through ``theater run`` (ingest,
refine) in subprocesses, as a scheduler starts it; then a second identities file is delivered
with conflicts and the period is refined again:

- an alias mapped to two people (ambiguous),
- a person's directory user_id mapped to another person (conflicting),
- an alias mapped to a user_id the directory does not have (kept, counted),
- one person's login and another's login both mapped to that person (several aliases).

The expected row counts come from bronze (the raw aliases are there), not from the code under
test.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from datetime import date

import pytest
from faultkit import env_for, record_figures, run, run_args

from theater.keycheck import DEMO_KEY, FINGERPRINT_FILE, fingerprint
from theater.synth.exports import generate_vendor

START, END = date(2026, 7, 1), date(2026, 7, 15)
SILVER = ("silver/interactions", "silver/directory", "silver/user_days", "silver/org_days")


def _run(landing, lake, state, log, *stages, env=None, extra=()):
    stage_args = [a for s in stages for a in ("--stage", s)]
    cmd = run_args(landing, lake, *stage_args, *extra, start=START, end=END)
    e = env_for(state)
    e.pop("THEATER_PSEUDONYM_KEY", None)
    e.update(env or {})
    return run(cmd, e, log)


def _versions(lake):
    from deltalake import DeltaTable

    return {
        t: DeltaTable(str(lake / t)).version() if DeltaTable.is_deltatable(str(lake / t)) else None
        for t in (*SILVER, "ops/identity_coverage")
    }


def _norm(alias: str) -> str:
    a = alias.strip()
    return a.lower() if "@" in a else a


def _bronze_rows(lake, aliases: set[str]) -> Counter:
    """Rows of the period per normalized alias, deduplicated as refine does: interactions by
    (tool, event_id), user-days by (format, kind, alias, day, feature)."""
    from deltalake import DeltaTable

    out: Counter = Counter()
    bi = DeltaTable(str(lake / "bronze/interactions")).to_pandas(
        columns=["source_format", "tool", "event_id", "event_ts", "user_id"]
    )
    bi = bi[bi["source_format"].notna()]
    bi["a"] = bi["user_id"].fillna("").map(_norm)
    ts = bi["event_ts"].astype(str).str[:10]
    bi = bi[(ts >= str(START)) & (ts < str(END)) & bi["a"].isin(aliases)]
    for a, n in bi.drop_duplicates(["tool", "event_id"]).groupby("a").size().items():
        out[a] += int(n)
    if (lake / "bronze/user_days").exists():
        ud = DeltaTable(str(lake / "bronze/user_days")).to_pandas(
            columns=["source_format", "user_alias_kind", "user_id", "day", "feature"]
        )
        ud["a"] = ud["user_id"].fillna("").map(_norm)
        ud = ud[ud["a"].isin(aliases)]
        # vendor day formats vary (ISO, MM-DD-YYYY): refine types them; count distinct keys
        keys = ud.drop_duplicates(["source_format", "user_alias_kind", "a", "day", "feature"])
        for a, n in keys.groupby("a").size().items():
            out[a] += int(n)
    return out


def _used_aliases(lake) -> dict[tuple[str, str], Counter]:
    """(source_format, alias kind) -> Counter of normalized aliases with vendor rows in bronze."""
    from deltalake import DeltaTable

    used: dict[tuple[str, str], Counter] = {}
    for t in ("bronze/interactions", "bronze/user_days"):
        if not (lake / t).exists():
            continue
        df = DeltaTable(str(lake / t)).to_pandas(
            columns=["source_format", "user_alias_kind", "user_id"]
        )
        df = df[df["source_format"].notna() & df["user_id"].notna()]
        for (f, k, a), n in (
            df.groupby(["source_format", "user_alias_kind", "user_id"]).size().items()
        ):
            used.setdefault((f, k), Counter())[_norm(a)] += int(n)
    return used


def _coverage(lake, not_runs=()) -> list[dict]:
    """ops/identity_coverage rows of the one run not in ``not_runs``."""
    from deltalake import DeltaTable

    df = DeltaTable(str(lake / "ops/identity_coverage")).to_pandas()
    runs = set(df["run_id"]) - set(not_runs)
    assert len(runs) == 1, runs
    return df[df["run_id"].isin(runs)].to_dict("records")


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    root = tmp_path_factory.mktemp("identities")
    generate_vendor(root / "gen", seed=5, n_orgs=6, n_users=60, start=START, end=END)
    landing, lake, state = root / "gen" / "landing", root / "lake", root / "state"
    rc = _run(landing, lake, state, root / "first.log", "ingest", "refine")
    assert rc == 0, (root / "first.log").read_text()[-3000:]
    first = _coverage(lake)

    ids = list(csv.DictReader(open(landing / "identities" / "identities.csv")))
    by_user: dict[str, dict[str, str]] = {}
    for r in ids:
        by_user.setdefault(r["user_id"], {})[r["alias_kind"]] = r["alias"]
    users = sorted(by_user)
    used = _used_aliases(lake)
    # the (format, kind) with the most aliases in use, other than e-mail, and its people
    fmt, kind = max((fk for fk in used if fk[1] != "email"), key=lambda fk: len(used[fk]))
    people = [u for u in users if _norm(by_user[u].get(kind, "")) in used[(fmt, kind)]]
    emails = [u for fk, c in used.items() if fk[1] == "email" for u in users if _norm(u) in c]
    assert len(people) >= 5 and emails, (kind, len(people), len(emails))
    p, q, t, v, w = people[:5]
    r_, s_ = emails[0], next(u for u in users if u != emails[0])
    ambiguous = by_user[p][kind]
    conflicting = r_  # a directory user_id (e-mail) used as an alias
    unknown = by_user[t][kind]
    second = by_user[v][kind]  # v's login now maps to w: w has two logins
    planted = [
        (ambiguous, kind, p),
        (ambiguous, kind, q),
        (conflicting, "email", s_),
        (unknown, kind, "left.company.00000@acme-corp.example"),
        (second, kind, w),
    ]
    fix = landing / "identities" / "identities-correction.csv"
    with open(fix, "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["alias", "alias_kind", "user_id"])
        wr.writerows(planted)
    log = root / "second.log"
    rc = _run(landing, lake, state, log, "ingest", "refine")
    assert rc == 0, log.read_text()[-3000:]
    expected = _bronze_rows(lake, {_norm(ambiguous), _norm(conflicting)})
    return {
        "root": root,
        "landing": landing,
        "lake": lake,
        "state": state,
        "log": log.read_text(),
        "first": first,
        "second": _coverage(lake, {r["run_id"] for r in first}),
        "kind": kind,
        "format": fmt,
        "aliases": {"ambiguous": ambiguous, "conflicting": conflicting, "unknown": unknown},
        "expected": expected,
    }


def _sum(rows, col, **where):
    return sum(int(r[col] or 0) for r in rows if all(r[k] == v for k, v in where.items()))


def test_each_identity_conflict_is_counted_under_its_own_reason(vendor):
    first, second, kind = vendor["first"], vendor["second"], vendor["kind"]
    exp = vendor["expected"]
    n_amb = exp[_norm(vendor["aliases"]["ambiguous"])]
    n_con = exp[_norm(vendor["aliases"]["conflicting"])]
    assert n_amb > 0 and n_con > 0
    # one ambiguous alias and one conflicting alias, in every format that uses them
    assert _sum(second, "rows_ambiguous") == n_amb
    assert _sum(second, "rows_conflicting") == n_con
    assert {r["alias_kind"] for r in second if r["ambiguous"]} == {kind}
    assert {r["alias_kind"] for r in second if r["conflicting"]} == {"email"}
    fmt = vendor["format"]
    assert _sum(second, "unknown_user", source_format=fmt, alias_kind=kind) == 1
    assert _sum(second, "several_aliases", source_format=fmt, alias_kind=kind) == 1
    # never under the wrong reason: nothing new is "not in the directory or identities"
    assert _sum(second, "rows_unmapped") == _sum(first, "rows_unmapped")
    assert _sum(second, "unmapped") == _sum(first, "unmapped")
    # the first delivery had no conflicts
    for c in ("ambiguous", "conflicting", "rows_ambiguous", "rows_conflicting"):
        assert _sum(first, c) == 0
    record_figures(
        "identity_conflicts",
        attempted=4,
        survived=4,
        rows_ambiguous=n_amb,
        rows_conflicting=n_con,
        rows_lost=0,
        rows_doubled=0,
    )


def test_identity_conflicts_are_in_the_run_summary_log_and_dq_results(vendor):
    from deltalake import DeltaTable

    text = vendor["log"]
    exp = vendor["expected"]
    n_amb = exp[_norm(vendor["aliases"]["ambiguous"])]
    assert "ambiguous (mapped to several people)" in text  # the run summary
    assert "mapped to more than one person by identities (ambiguous_identity)" in text
    assert "conflicting_identity" in text
    assert "people under several aliases (summed)" in text
    assert f"({n_amb:,} rows left out)" in text or f"{n_amb} row(s) left out" in text
    dq = DeltaTable(str(vendor["lake"] / "ops/dq_results")).to_pandas()
    run_id = vendor["second"][0]["run_id"]
    dq = dq[(dq["table_name"] == "ops/identity_coverage") & (dq["run_id"] == run_id)]
    warned = {r.expectation: r for r in dq.itertuples() if not r.success}
    assert {"no_ambiguous", "no_rows_ambiguous", "no_conflicting", "no_rows_conflicting"} <= set(
        warned
    )
    assert all(r.severity == "warning" for r in warned.values())
    # the counts are in the recorded sample of unexpected values
    assert json.loads(warned["no_rows_ambiguous"].sample) == [
        {"source_format": vendor["format"], "alias_kind": vendor["kind"], "rows_ambiguous": n_amb}
    ]
    # no raw alias in what the run wrote about the conflicts
    for a in vendor["aliases"].values():
        assert a not in dq.to_csv()


# ----------------------------------------------------------------------------- the key


def test_another_key_is_refused_and_silver_is_untouched(vendor, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(vendor["lake"], lake)
    recorded = json.loads((lake / FINGERPRINT_FILE).read_text())
    assert recorded["fingerprint"] == fingerprint(DEMO_KEY)  # the runs above used the demo key
    assert "theater-index-demo" not in (lake / FINGERPRINT_FILE).read_text()
    before = _versions(lake)
    attempted = survived = 0
    for stages in (("refine",), ("refine", "score"), ("score",)):
        attempted += 1
        log = tmp_path / f"{'-'.join(stages)}.log"
        rc = _run(
            vendor["landing"],
            lake,
            vendor["state"],
            log,
            *stages,
            env={"THEATER_PSEUDONYM_KEY": "a-rotated-scheduler-secret"},
        )
        text = log.read_text()
        assert rc == 2, text[-2000:]
        assert "not the key the lake" in text and "start a new lake" in text
        assert "a-rotated-scheduler-secret" not in text
        assert _versions(lake) == before
        assert not (lake / "gold").exists()
        survived += 1
    # a lake from before fingerprints: the key is checked against silver/directory
    (lake / FINGERPRINT_FILE).unlink()
    attempted += 1
    log = tmp_path / "legacy.log"
    env = {"THEATER_PSEUDONYM_KEY": "a-rotated-scheduler-secret"}
    rc = _run(vendor["landing"], lake, vendor["state"], log, "refine", env=env)
    assert rc == 2, log.read_text()[-2000:]
    assert "is not the key that wrote" in log.read_text()
    assert _versions(lake) == before and not (lake / FINGERPRINT_FILE).exists()
    survived += 1
    # the lake's own key still works, and is recorded again; the lake's identity coverage is
    # made as an older version wrote it (no conflict columns): they are added, null before
    from deltalake import DeltaTable, write_deltalake

    old_cov = DeltaTable(str(lake / "ops/identity_coverage")).to_pandas()
    legacy = [
        "run_id", "period_start", "period_end", "source_format", "alias_kind", "aliases",
        "mapped", "unmapped", "shared", "rows_unmapped", "rows_shared",
    ]  # fmt: skip
    write_deltalake(
        str(lake / "ops/identity_coverage"),
        old_cov[legacy],
        mode="overwrite",
        schema_mode="overwrite",
    )
    log = tmp_path / "right-key.log"
    rc = _run(vendor["landing"], lake, vendor["state"], log, "refine")
    assert rc == 0, log.read_text()[-2000:]
    cov = DeltaTable(str(lake / "ops/identity_coverage")).to_pandas()
    assert len(cov) == len(old_cov) + len(vendor["second"])
    old_runs = set(old_cov["run_id"])
    assert cov[cov["run_id"].isin(old_runs)]["rows_ambiguous"].isna().all()
    new = cov[~cov["run_id"].isin(old_runs)]
    assert int(new["rows_ambiguous"].sum()) == _sum(vendor["second"], "rows_ambiguous")
    assert json.loads((lake / FINGERPRINT_FILE).read_text())["fingerprint"] == fingerprint(DEMO_KEY)
    record_figures(
        "key_change", attempted=attempted, survived=survived, rows_lost=0, rows_doubled=0
    )


def test_a_lake_keeps_the_key_it_was_written_with(tmp_path):
    from theater.config import load_config
    from theater.keycheck import KeyMismatchError, check, record

    record(str(tmp_path), b"one")
    assert check(str(tmp_path), b"one") is True
    with pytest.raises(KeyMismatchError, match="start a new lake"):
        record(str(tmp_path), b"two")
    assert json.loads((tmp_path / FINGERPRINT_FILE).read_text())["fingerprint"] == fingerprint(
        b"one"
    )
    assert not [p for p in tmp_path.iterdir() if p.name != FINGERPRINT_FILE]  # no temp file
    cfg = load_config(env="local", environ={})
    from theater.keycheck import check_run

    check_run(cfg, str(tmp_path), "x", environ={"THEATER_PSEUDONYM_KEY": "one"})
    with pytest.raises(KeyMismatchError):
        check_run(cfg, str(tmp_path), "x", environ={})  # the demo key is another key


@pytest.mark.parametrize(
    "env",
    [
        {"THEATER_PSEUDONYM_KEY": DEMO_KEY.decode()},
        {"THEATER_PRIVACY__ALLOW_DEMO_KEY": "true"},
        {"THEATER_PRIVACY__ALLOW_DEMO_KEY": "true", "THEATER_PSEUDONYM_KEY": DEMO_KEY.decode()},
    ],
    ids=["demo-key-in-env", "allowed-by-config", "both"],
)
def test_the_cluster_refuses_the_demo_key_however_it_is_given(tmp_path, env):
    log = tmp_path / "run.log"
    landing = tmp_path / "landing"
    landing.mkdir()
    rc = _run(
        landing,
        tmp_path / "lake",
        tmp_path / "state",
        log,
        "refine",
        env=env,
        extra=("--env", "cluster"),
    )
    text = log.read_text()
    assert rc == 2, text[-2000:]
    assert "demo key" in text and "cluster" in text
    assert not (tmp_path / "lake" / "silver").exists()
