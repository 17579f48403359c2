"""`theater formats`, `theater inspect` and the re-framing of wrapped JSON in native folders."""

from __future__ import annotations

import json
from pathlib import Path

from theater.cli import main
from theater.sources.exports.reader import list_vendor_files
from theater.sources.landing import json_to_lines

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
COPILOT = FIX / "github_copilot_users" / "org_users_1_day.jsonl"


def test_formats_lists_every_format_with_grain_and_required(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("github_copilot_users "))
    assert "user_day" in row and "day, user_login" in row and "quota_bunching" in row
    # derived from what the code computes: GitHub's aggregates give no padding, and an unused
    # share only as an aggregate (acceptances of outputs shown)
    assert "padding" not in row and "unused_output(A)" in row
    assert (
        next(ln for ln in out.splitlines() if ln.startswith("m365_copilot_reports "))
        .rstrip()
        .endswith("-")
    )
    assert sum(1 for ln in out.splitlines() if " event " in ln) == 6


def test_inspect_says_what_a_file_is_and_writes_nothing(tmp_path, capsys):
    f = tmp_path / "export.jsonl"
    f.write_bytes(COPILOT.read_bytes())
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["inspect", str(f)]) == 0
    out = capsys.readouterr().out
    # 5 records: 3 good (6 user_days rows), line 3 malformed, line 5 a bad day
    assert "format: github_copilot_users (grain user_day)" in out
    assert "records: 5, bad: 2 (bad_timestamp 1, malformed_line 1)" in out
    assert "rows: user_days 6" in out and "dates: 2026-03-02 .. 2026-03-03" in out
    assert "identities: github_id, github_login" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_inspect_missing_path_exits_2(tmp_path, capsys):
    assert main(["inspect", str(COPILOT), str(tmp_path / "nope.json")]) == 2
    cap = capsys.readouterr()
    assert "nope.json: no such file" in cap.err and "github_copilot_users" in cap.out


def test_wrapped_json_is_streamed_record_by_record_without_a_cap(tmp_path):
    big = "x" * 150_000
    src = tmp_path / "wrapped.json"
    src.write_text(json.dumps({"data": [{"a": 1, "note": big}, {"a": 2}]}, indent=2))
    out = tmp_path / "out.jsonl"
    assert json_to_lines(str(src), str(out)) == 2
    lines = out.read_text().splitlines()
    assert [json.loads(ln)["a"] for ln in lines] == [1, 2]
    assert json.loads(lines[0])["note"] == big


def test_broken_off_array_keeps_the_whole_rest(tmp_path):
    src = tmp_path / "cut.json"
    src.write_text('[{"a": 1},\n{"a": "' + "y" * 120_000 + "\n")
    out = tmp_path / "out.jsonl"
    assert json_to_lines(str(src), str(out)) == 2
    lines = out.read_text().splitlines()
    assert json.loads(lines[0]) == {"a": 1}
    assert len(lines[1]) == len('{"a": "') + 120_000 + 1  # the newline became a space


def test_org_level_folder_names_the_org_and_unknown_folders_are_reported(tmp_path):
    landing = tmp_path / "landing"
    org = landing / "vendor" / "github_copilot_org_metrics" / "org-7" / "2026"
    org.mkdir(parents=True)
    (org / "metrics.json").write_text("[]")
    (landing / "vendor" / "misc").mkdir()
    (landing / "vendor" / "misc" / "users.jsonl").write_bytes(COPILOT.read_bytes())
    (landing / "vendor" / "misc" / "readme.md").write_text("hi")
    files, skipped = list_vendor_files(str(landing))
    by = {f.relpath: f for f in files}
    assert by["vendor/github_copilot_org_metrics/org-7/2026/metrics.json"].vendor_org == "org-7"
    assert by["vendor/misc/users.jsonl"].fmt == "github_copilot_users"
    assert by["vendor/misc/users.jsonl"].dataset == "vendor/github_copilot_users"
    assert [rel for rel, _ in skipped] == ["vendor/misc/readme.md"]
