"""The offline Data Docs index: rendering and the manifest (no Spark, no GX)."""

from theater.quality import docs as dq_docs


def _entry(run, table, at, *, passed=3, warnings=(), failed=()):
    return {
        "run_id": run,
        "stage": "refine",
        "table": table,
        "frame": "rows",
        "suite": "s",
        "validated_at": at,
        "passed": passed,
        "page": f"validations/{table}.html",
        "warnings": [{"expectation": w, "observed_value": "2.3%"} for w in warnings],
        "failed": [{"expectation": f, "observed_value": "<b>7</b> of 10 rows"} for f in failed],
    }


def test_runs_newest_first_with_status_counts_and_escaped_values():
    page = dq_docs.render_index(
        [
            _entry("old", "silver/a", "2026-11-01 10:00:00"),
            _entry(
                "new",
                "silver/b",
                "2026-11-02 10:00:00",
                passed=1,
                warnings=["share_w"],
                failed=["keys_unique"],
            ),
        ]
    )
    assert page.index("Run <code>new</code>") < page.index("Run <code>old</code>")
    assert "<td class='fail'>failed</td>" in page and "<td class='pass'>passed</td>" in page
    assert "keys_unique: &lt;b&gt;7&lt;/b&gt; of 10 rows" in page  # escaped, not markup
    assert "<li class='warn'>share_w: 2.3%</li>" in page
    assert "<a href='validations/silver/b.html'>silver/b</a>" in page
    assert "http" not in page and "<script" not in page


def test_manifest_appends_and_skips_a_torn_line(tmp_path):
    dq_docs.record_entries(tmp_path, [_entry("r1", "gold/x", "2026-11-01 10:00:00")])
    with open(tmp_path / dq_docs.MANIFEST, "a") as f:
        f.write('{"run_id": "torn"')  # a killed writer's partial line
    dq_docs.record_entries(tmp_path, [_entry("r2", "gold/y", "2026-11-02 10:00:00")])
    runs = [e["run_id"] for e in dq_docs.read_manifest(tmp_path)]
    assert runs == ["r1", "r2"]
    assert "No validations" not in (tmp_path / dq_docs.INDEX).read_text()
    assert dq_docs.render_index([]).count("No validations recorded yet") == 1


def test_hostile_values_are_escaped_in_every_cell():
    e = _entry(
        "<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "2026-11-02", failed=["a&b"]
    )
    e["stage"], e["frame"] = "<b>stage</b>", "f&g"
    e["page"] = "validations/x'><script>.html"
    page = dq_docs.render_index([e])
    assert "<script>" not in page and "<img" not in page and "<b>stage" not in page
    assert "Run <code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;</a>" in page
    assert "href='validations/x&#39;&gt;&lt;script&gt;.html'" in page
    assert "<td>&lt;b&gt;stage&lt;/b&gt;</td><td>f&amp;g</td>" in page
    assert "<li class='fail'>a&amp;b: &lt;b&gt;7&lt;/b&gt; of 10 rows</li>" in page
