"""The generator's vendor delivery round-trips through the vendor adapters.

A small native world (6 orgs, 2 weeks) is delivered as vendor exports; every delivered file is
read back with iter_records + map_record and the canonical rows are compared with
truth/vendor_counts.json, and, independently of that file, with the native events themselves.
"""

import csv
import hashlib
import json
from collections import Counter
from datetime import date

import pyarrow.dataset as pads
import pytest

from theater.sources.exports import FORMATS, VendorRecordError, recognise
from theater.sources.exports.formats.claude_code_otel import fold_updates
from theater.sources.stream import iter_records
from theater.synth import generate
from theater.synth.exports import (
    ALL_FORMATS,
    STACK_OPTIONS,
    assign_stacks,
    write_vendor_delivery,
)
from theater.synth.exports.common import prompt_text

EVENT_FORMATS = {n for n, f in FORMATS.items() if f.grain == "event"}
USED = {"accepted", "inserted", "copied", "edited"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("vendor_world")
    native, out = root / "native", root / "vendor"
    generate(
        native,
        seed=11,
        n_orgs=6,
        n_users=48,
        start=date(2026, 7, 1),
        end=date(2026, 7, 15),
        formats="parquet",
    )
    counts = write_vendor_delivery(native, out, seed=11)
    rows, quarantined, recognised = {}, Counter(), {}
    for fmt in ALL_FORMATS:
        rows[fmt] = []
        for p in sorted((out / "landing" / "vendor" / fmt).rglob("*")):
            if not p.is_file():
                continue
            recognised[str(p)] = (recognise(str(p)), fmt)
            for rec in iter_records(str(p)):
                if rec.error:
                    quarantined[fmt] += 1
                    continue
                try:
                    rows[fmt].extend(FORMATS[fmt].map_record(rec.record))
                except VendorRecordError:
                    quarantined[fmt] += 1
    native_t = (
        pads.dataset(str(native / "landing" / "interactions"), format="parquet")
        .to_table(columns=["event_id", "tool", "output_disposition"])
        .to_pandas()
    )
    truth_org = {
        (r["tool"], r["event_id"]): r["org_id"]
        for r in csv.DictReader(open(native / "truth" / "interactions.csv"))
    }
    native_t["org"] = [truth_org[(t, e)] for t, e in zip(native_t["tool"], native_t["event_id"])]
    return {
        "native": native,
        "out": out,
        "counts": counts,
        "rows": rows,
        "quarantined": quarantined,
        "recognised": recognised,
        "native_events": native_t,
    }


def test_every_format_delivered_and_counts_match(world):
    expected = json.loads((world["out"] / "truth" / "vendor_counts.json").read_text())["formats"]
    assert sorted(expected) == sorted(ALL_FORMATS) and len(ALL_FORMATS) == 13
    for fmt in ALL_FORMATS:
        got = Counter(r["_table"] for r in world["rows"][fmt])
        exp = expected[fmt]
        assert exp["files"] > 0, fmt
        for table in ("interactions", "interaction_updates", "user_days", "org_days"):
            assert got[table] == exp[table], (fmt, table)
        assert world["quarantined"][fmt] == exp["quarantined"], fmt
    # only the GenAI spans without a user attribute are quarantined
    assert {f for f, n in world["quarantined"].items() if n} <= {"otel_genai"}


def test_each_file_is_recognised_as_its_format(world):
    wrong = {p: r for p, r in world["recognised"].items() if r[0] != r[1]}
    assert wrong == {}


def test_per_event_formats_carry_every_native_event_once(world):
    """Independent of vendor_counts.json: native events of org-tools on a per-event format."""
    stacks = {
        (r["org_id"], r["tool"]): r["format"]
        for r in csv.DictReader(open(world["out"] / "truth" / "vendor_stacks.csv"))
    }
    ev = world["native_events"]
    fmt_of = [stacks[(o, t)] for o, t in zip(ev["org"], ev["tool"])]
    native_n = Counter(f for f in fmt_of if f in EVENT_FORMATS)
    for fmt in EVENT_FORMATS:
        prompts = [r for r in world["rows"][fmt] if r["_table"] == "interactions"]
        assert len(prompts) + world["quarantined"][fmt] == native_n[fmt], fmt
        assert len({(r["tool"], r["event_id"]) for r in prompts}) == len(prompts), fmt
        assert all(r["dwell_ms"] is None for r in prompts), fmt
        if fmt != "claude_code_otel":
            assert all(r["output_disposition"] is None for r in prompts), fmt


def test_claude_code_dispositions_fold_back(world):
    rows = world["rows"]["claude_code_otel"]
    prompts = [r for r in rows if r["_table"] == "interactions"]
    updates = [r for r in rows if r["_table"] == "interaction_updates"]
    folded, orphans = fold_updates(prompts, updates)
    assert orphans == []
    stacks = world["counts"]["stacks"]
    ev = world["native_events"]
    mine = ev[[stacks[o][t] == "claude_code_otel" for o, t in zip(ev["org"], ev["tool"])]]
    disp = Counter(r["output_disposition"] for r in folded)
    assert disp["accepted"] == int(mine["output_disposition"].isin(USED).sum())
    assert disp["discarded"] == int((mine["output_disposition"] == "discarded").sum())
    # prompts from IDE terminals come back as tool ide, the others as cli
    assert Counter(r["tool"] for r in folded) == Counter(mine["tool"])


def test_aggregates_sum_native_events(world):
    stacks = world["counts"]["stacks"]
    ev = world["native_events"]
    fmt = [stacks[o][t] for o, t in zip(ev["org"], ev["tool"])]
    used = ev["output_disposition"].isin(USED)
    gh = world["rows"]["github_copilot_users"]
    assert sum(r["accepted"] for r in gh) == int(
        used[[f == "github_copilot_users" for f in fmt]].sum()
    )
    assert sum(r["suggestions_shown"] for r in gh) == fmt.count("github_copilot_users")
    cca = world["rows"]["claude_code_analytics"]
    mask = [f == "claude_code_analytics" for f in fmt]
    assert sum(r["accepted"] for r in cca) == int(used[mask].sum())
    assert sum(r["rejected"] for r in cca) == int(
        (ev["output_disposition"][mask] == "discarded").sum()
    )


def test_identities_resolve_every_vendor_user(world):
    ident = {
        (r["alias"], r["alias_kind"]): r["user_id"]
        for r in csv.DictReader(open(world["out"] / "landing" / "identities" / "identities.csv"))
    }
    directory = set(
        pads.dataset(str(world["out"] / "landing" / "directory"), format="parquet")
        .to_table(columns=["user_id"])
        .column("user_id")
        .to_pylist()
    )
    seen = 0
    for fmt, rows in world["rows"].items():
        for r in rows:
            if r["_table"] in ("interactions", "user_days"):
                assert ident[(r["user_id"], r["user_alias_kind"])] in directory, (fmt, r["user_id"])
                seen += 1
    assert seen > 0


def test_copies_and_determinism(world, tmp_path):
    out = world["out"]
    for name in ("directory", "work_items", "policies"):
        assert sorted(p.name for p in (out / "landing" / name).iterdir()) == sorted(
            p.name for p in (world["native"] / "landing" / name).iterdir()
        )
    assert (out / "truth" / "orgs.csv").read_bytes() == (
        world["native"] / "truth" / "orgs.csv"
    ).read_bytes()
    again = tmp_path / "again"
    write_vendor_delivery(world["native"], again, seed=11)

    def digest(root):
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "landing" / "vendor").rglob("*"))
            if p.is_file()
        }

    assert digest(out) == digest(again)


def test_stacks_cover_every_format_and_need_six_orgs():
    stacks = assign_stacks([f"org-{i}" for i in range(6)], seed=5)
    assert {f for s in stacks.values() for f in s.values()} == set(ALL_FORMATS)
    assert all(set(s) == set(STACK_OPTIONS) for s in stacks.values())
    with pytest.raises(ValueError, match="at least 6 orgs"):
        assign_stacks([f"org-{i}" for i in range(5)], seed=5)


def test_prompt_text_keeps_equal_fingerprints_equal():
    a = prompt_text("723a0f7f5039f257")
    assert a == prompt_text("723a0f7f5039f257") and len(a.split()) == 64
    assert a != prompt_text("723a0f7f5039f256")
    assert prompt_text(None) is None
