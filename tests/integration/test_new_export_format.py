"""A new export format is one module: a format module in a package of its own (written here to a
temporary folder, as a user would add one) is discovered, recognised, listed by ``theater
formats`` with the signals its fields feed, and ingested on Sail into real Delta tables, its bad
record quarantined under ``vendor/<format>`` past the quarantine suite, whose list of datasets
is made from the registry (nothing else was edited)."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from theater.lake import Lake
from theater.sources.exports import FORMATS, describe, discover, recognise
from theater.sources.exports.reader import quarantine_datasets
from theater.stages import ingest

NAME = "toy_seat_usage"

# the whole format: what a contributor writes under sources/exports/formats/
MODULE = '''
"""Toy seat-usage export (CSV): one row per user and day (a test-only format)."""

from theater.sources.exports.format import VendorFormat, register
from theater.sources.exports.rows import user_day_row
from theater.sources.exports.values import as_int, as_str, parse_day, require

NAME = "toy_seat_usage"


def looks_like(record):
    return {"Seat", "Day", "Prompts"} <= set(record)


def map_record(record):
    require(record, "Seat", "Day")
    return [
        user_day_row(
            NAME,
            as_str(record["Seat"], "Seat"),
            "email",
            parse_day(record["Day"]),
            "chat",
            requests=as_int(record["Prompts"], "Prompts"),
        )
    ]


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="user_day",
        summary="Toy seat usage (CSV): per user-day prompts",
        required=("Seat", "Day"),
        fills=("requests",),
        identity_kinds=("email",),
        file_kinds=("csv",),
        map_record=map_record,
        looks_like=looks_like,
    )
)
'''

# the fixture: two good rows and one without a seat (line 3)
FIXTURE = "Seat,Day,Prompts\na@x.com,2026-03-02,4\n,2026-03-02,1\nb@x.com,2026-03-03,\n"


@pytest.fixture(scope="module")
def toy_format(tmp_path_factory):
    root = tmp_path_factory.mktemp("extra_formats")
    pkg = root / "extra_export_formats"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / f"{NAME}.py").write_text(textwrap.dedent(MODULE))
    sys.path.insert(0, str(root))
    try:
        found = discover(importlib.import_module("extra_export_formats"))
        yield found
    finally:
        FORMATS.pop(NAME, None)
        sys.path.remove(str(root))
        for mod in [m for m in sys.modules if m.startswith("extra_export_formats")]:
            del sys.modules[mod]


def test_the_module_is_discovered_and_listed(toy_format, tmp_path):
    assert toy_format == [NAME] and NAME in FORMATS
    rows = {d["name"]: d for d in describe()}
    # requests per user and day: usage over time, no unused share (no acceptances)
    assert rows[NAME]["signals"] == {
        "quota_bunching": "Y",
        "checkpoint_burst": "Y",
        "outcome_decoupling": "Y",
    }
    assert f"vendor/{NAME}" in quarantine_datasets()
    p = tmp_path / "whatever.csv"
    p.write_text(FIXTURE)
    assert recognise(str(p)) == NAME


def test_the_new_format_is_ingested_and_its_bad_record_quarantined(
    toy_format, tmp_path, spark, cfg
):
    landing = tmp_path / "landing"
    folder = landing / "vendor" / NAME
    folder.mkdir(parents=True)
    (folder / "march.csv").write_text(FIXTURE)
    lake = Lake(str(tmp_path / "lake"))
    ingest.run(spark, lake, str(landing), cfg=cfg)
    days = sorted(
        (r.user_id, r.day, r.requests, r._line)
        for r in lake.read(spark, "bronze/user_days").collect()
    )
    assert days == [("a@x.com", "2026-03-02", 4, 2), ("b@x.com", "2026-03-03", None, 4)]
    (q,) = lake.read(spark, "bronze/quarantine").collect()
    assert (q.dataset, q.reason, q.line_number) == (f"vendor/{NAME}", "missing_required: Seat", 3)
