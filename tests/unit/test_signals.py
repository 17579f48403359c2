"""Each signal on hand-made interactions; expected values worked out by hand in the comments."""

from __future__ import annotations

from datetime import timedelta

from builders import T0, by_id, interaction, make_interactions

from theater.signals import fragmentation, padding, repeat_prompt, self_summary, unused_output


def test_unused_output_three_valued(spark):
    rows = [
        interaction(1, output_disposition="discarded", dwell_ms=60000),  # discarded -> True
        interaction(2, output_disposition="ignored", dwell_ms=None),  # ignored -> True
        interaction(3, output_disposition="accepted", dwell_ms=100),  # used beats short dwell
        interaction(4, output_disposition=None, dwell_ms=1200),  # glance, not used -> True
        interaction(5, output_disposition="unknown", dwell_ms=8000),  # read 8 s -> False
        interaction(6, output_disposition=None, dwell_ms=None),  # nothing reported -> NA
        interaction(7, output_disposition="unknown", dwell_ms=None),  # unknown = NA
        interaction(8, output_disposition="copied", dwell_ms=None),  # used -> False
    ]
    out = make_interactions(spark, rows).transform(unused_output.flag(5000))
    assert by_id(out, "sig_unused_output") == {
        "e1": True,
        "e2": True,
        "e3": False,
        "e4": True,
        "e5": False,
        "e6": None,
        "e7": None,
        "e8": False,
    }


def test_self_summary_needs_own_stale_doc_and_unused_output(spark):
    old = T0 - timedelta(days=10)
    fresh = T0 - timedelta(days=2)
    rows = [
        interaction(
            1,
            action="summarize",
            artifact_author_key="u1",
            artifact_modified_ts=old,
            output_disposition="discarded",
        ),  # own, 10 d, unused
        interaction(
            2,
            action="summarize",
            artifact_author_key="u2",
            artifact_modified_ts=old,
            output_disposition="discarded",
        ),  # someone else's doc
        interaction(
            3,
            action="summarize",
            artifact_author_key="u1",
            artifact_modified_ts=fresh,
            output_disposition="discarded",
        ),  # changed 2 days ago
        interaction(
            4,
            action="summarize",
            artifact_author_key="u1",
            artifact_modified_ts=old,
            output_disposition="accepted",
        ),  # summary was used
        interaction(
            5,
            action="chat",
            artifact_author_key="u1",
            artifact_modified_ts=old,
            output_disposition="discarded",
        ),  # not a summary
        interaction(
            6,
            action="summarize",
            artifact_author_key=None,
            artifact_modified_ts=None,
            output_disposition="discarded",
        ),  # author unknown -> NA
        interaction(
            7,
            action="summarize",
            artifact_author_key=None,
            artifact_modified_ts=None,
            output_disposition="accepted",
        ),  # author unknown -> NA
        interaction(
            8,
            action="summarize",
            artifact_author_key="u1",
            artifact_modified_ts=None,
            output_disposition="discarded",
        ),  # mtime unknown -> NA
        interaction(
            9,
            action="summarize",
            artifact_author_key="u1",
            artifact_modified_ts=old,
            output_disposition=None,
            dwell_ms=None,
        ),  # use unknown -> NA
        interaction(
            10,
            action="chat",
            artifact_author_key=None,
            artifact_modified_ts=None,
            output_disposition="discarded",
        ),  # no artifact -> NA
    ]
    out = make_interactions(spark, rows).transform(self_summary.flag(7, 5000))
    assert by_id(out, "sig_self_summary") == {
        "e1": True,
        "e2": False,
        "e3": False,
        "e4": False,
        "e5": False,
        "e6": None,
        "e7": None,
        "e8": None,
        "e9": None,
        "e10": None,
    }


def test_hamming_distance_between_fingerprints(spark):
    from pyspark.sql import functions as F

    pairs = [
        ("0000000000000000", "0000000000000000", 0),
        ("0000000000000000", "0000000000000007", 3),  # 7 = 0b111
        ("ffffffffffffffff", "0000000000000000", 64),
        ("8000000000000001", "0000000000000000", 2),
    ]
    df = spark.createDataFrame(pairs, "a string, b string, expected int")
    got = df.select(repeat_prompt.hamming(F.col("a"), F.col("b")).alias("d"), "expected").collect()
    assert [r.d for r in got] == [r.expected for r in got]


def test_repeat_prompt_near_duplicate_of_unused_prompt_within_window(spark):
    fp = "0123456789abcdef"
    near = "0123456789abcdee"  # last digit f->e: 1 bit
    far = "f123456789abcd10"  # 0->f (4 bits) + ef->10 (8 bits): 12 bits
    rows = [
        interaction(1, prompt_fingerprint=fp, output_disposition="discarded", artifact_id="d1"),
        interaction(
            2,
            prompt_fingerprint=near,
            output_disposition="discarded",
            artifact_id="d1",
            ts=T0 + timedelta(hours=1),
        ),  # near dup of an unused prompt -> True
        interaction(
            3,
            prompt_fingerprint=far,
            output_disposition="discarded",
            artifact_id="d1",
            ts=T0 + timedelta(hours=2),
        ),  # too far -> False
        interaction(
            4,
            prompt_fingerprint=fp,
            output_disposition="discarded",
            artifact_id="d1",
            ts=T0 + timedelta(days=9),
        ),  # prior ones are 8-9 days old -> False
        interaction(
            5,
            prompt_fingerprint=fp,
            output_disposition="discarded",
            artifact_id="d2",
            ts=T0 + timedelta(hours=3),
        ),  # other document -> False
        interaction(
            6,
            prompt_fingerprint=fp,
            output_disposition="accepted",
            artifact_id="d1",
            ts=T0 + timedelta(hours=4),
        ),  # repeat whose output is used -> False
        interaction(
            7,
            prompt_fingerprint=fp,
            output_disposition="discarded",
            artifact_id="d1",
            user_key="u2",
            ts=T0 + timedelta(hours=5),
        ),  # another user -> False
        interaction(
            8,
            prompt_fingerprint=None,
            output_disposition="discarded",
            artifact_id="d1",
            ts=T0 + timedelta(hours=6),
        ),  # no fingerprint -> NA
        interaction(
            9,
            prompt_fingerprint=fp,
            output_disposition=None,
            dwell_ms=None,
            artifact_id="d1",
            ts=T0 + timedelta(hours=7),
        ),  # use unknown -> NA
        interaction(
            10,
            prompt_fingerprint=fp,
            output_disposition="unknown",
            dwell_ms=None,
            artifact_id="d1",
            ts=T0 + timedelta(hours=8),
        ),  # 'unknown' = NA
        interaction(
            11,
            prompt_fingerprint=fp,
            output_disposition=None,
            dwell_ms=1000,
            artifact_id="d1",
            ts=T0 + timedelta(hours=9),
        ),  # 1 s glance: unused, fires
    ]
    out = make_interactions(spark, rows).transform(repeat_prompt.flag(3, 7, True, 5000))
    assert by_id(out, "sig_repeat_prompt") == {
        "e1": False,
        "e2": True,
        "e3": False,
        "e4": False,
        "e5": False,
        "e6": False,
        "e7": False,
        "e8": None,
        "e9": None,
        "e10": None,
        "e11": True,
    }


def test_repeat_prompt_ignores_templates_with_used_outputs(spark):
    rows = [
        interaction(
            i,
            prompt_fingerprint="aaaaaaaaaaaaaaaa",
            output_disposition="accepted",
            ts=T0 + timedelta(hours=i),
        )
        for i in range(1, 5)
    ]
    out = make_interactions(spark, rows).transform(repeat_prompt.flag(3, 7, True, 5000))
    assert set(by_id(out, "sig_repeat_prompt").values()) == {False}


def _thresholds(spark, name, value):
    return spark.createDataFrame([("chat", float(value))], f"action string, {name} double")


def test_fragmentation_five_short_on_one_artifact_in_30_minutes(spark):
    # five 3-token prompts on doc d1 at minutes 0, 5, 10, 15, 20 -> all five fire;
    # a sixth short one 50 min after the first is outside every 30-min span with 5 -> False;
    # four short ones on d2 -> False; a long one on d1 at minute 12 -> False (not short);
    # no artifact -> NA
    rows = [
        interaction(i, prompt_tokens=3, artifact_id="d1", ts=T0 + timedelta(minutes=5 * i))
        for i in range(5)
    ]
    rows.append(interaction(5, prompt_tokens=3, artifact_id="d1", ts=T0 + timedelta(minutes=50)))
    rows += [
        interaction(10 + i, prompt_tokens=3, artifact_id="d2", ts=T0 + timedelta(minutes=i))
        for i in range(4)
    ]
    rows.append(interaction(20, prompt_tokens=400, artifact_id="d1", ts=T0 + timedelta(minutes=12)))
    rows.append(interaction(21, prompt_tokens=3, artifact_id=None))
    thresholds = _thresholds(spark, fragmentation.THRESHOLD, 10)
    out = make_interactions(spark, rows).transform(fragmentation.flag(thresholds, 5, 30))
    got = by_id(out, "sig_fragmentation")
    assert {k: got[k] for k in ("e0", "e1", "e2", "e3", "e4")} == dict.fromkeys(
        ("e0", "e1", "e2", "e3", "e4"), True
    )
    assert got["e5"] is False
    assert [got[f"e{10 + i}"] for i in range(4)] == [False] * 4
    assert got["e20"] is False
    assert got["e21"] is None


def test_padding_long_prompt_with_unused_output(spark):
    rows = [
        interaction(1, prompt_tokens=5000, output_disposition="discarded"),  # long, unused
        interaction(2, prompt_tokens=5000, output_disposition="accepted"),  # long, used
        interaction(3, prompt_tokens=50, output_disposition="discarded"),  # short
        interaction(4, prompt_tokens=None, output_disposition="discarded"),  # tokens unknown
        interaction(5, prompt_tokens=5000, output_disposition=None, dwell_ms=None),  # use unknown
        interaction(6, action="generate", prompt_tokens=5000, output_disposition="discarded"),
        interaction(7, prompt_tokens=50, output_disposition=None, dwell_ms=None),  # short, use
        # unknown: cannot fire on this row's data -> NA, not "measured, did not fire"
        interaction(8, prompt_tokens=50, output_disposition="unknown", dwell_ms=None),  # idem
        interaction(9, prompt_tokens=5000, output_disposition=None, dwell_ms=9000),  # read 9 s
    ]
    thresholds = _thresholds(spark, padding.THRESHOLD, 1000)  # no threshold for 'generate'
    out = make_interactions(spark, rows).transform(padding.flag(thresholds, 5000))
    assert by_id(out, "sig_padding") == {
        "e1": True,
        "e2": False,
        "e3": False,
        "e4": None,
        "e5": None,
        "e6": None,
        "e7": None,
        "e8": None,
        "e9": False,
    }


def test_fragmentation_na_without_prompt_tokens(spark):
    # five interactions on one artifact in 20 min, tokens not reported: cannot tell short -> NA
    rows = [
        interaction(i, prompt_tokens=None, artifact_id="d1", ts=T0 + timedelta(minutes=5 * i))
        for i in range(5)
    ]
    thresholds = _thresholds(spark, fragmentation.THRESHOLD, 10)
    out = make_interactions(spark, rows).transform(fragmentation.flag(thresholds, 5, 30))
    assert set(by_id(out, "sig_fragmentation").values()) == {None}


def test_gateway_log_measures_no_per_interaction_signal(spark):
    """The observed bug: a gateway log (tokens + prompt fingerprints, no disposition, dwell or
    artifact) used to give repeat_prompt, padding and self_summary False on every row, i.e.
    three measured zeros. Every flag must be NA on such rows."""
    from theater.signals.common import action_quantile

    rows = [
        interaction(
            i,
            prompt_fingerprint="0123456789abcdef" if i % 2 else "fedcba9876543210",
            prompt_tokens=10 * (i + 1),
            output_disposition=None,
            dwell_ms=None,
            ts=T0 + timedelta(minutes=3 * i),
        )
        for i in range(12)
    ]
    df = make_interactions(spark, rows)
    short = action_quantile(df, 0.10, fragmentation.THRESHOLD)
    long_ = action_quantile(df, 0.90, padding.THRESHOLD)
    out = (
        df.transform(unused_output.flag(5000))
        .transform(self_summary.flag(7, 5000))
        .transform(repeat_prompt.flag(3, 7, True, 5000))
        .transform(fragmentation.flag(short, 5, 30))
        .transform(padding.flag(long_, 5000))
    )
    for name in ("unused_output", "self_summary", "repeat_prompt", "fragmentation", "padding"):
        assert set(by_id(out, f"sig_{name}").values()) == {None}, name


def test_action_quantile_is_the_nearest_rank_of_each_action(spark):
    """Per action, the smallest prompt_tokens whose cumulative share is >= q (worked by hand),
    ties and nulls included, and the same as percentile_disc over the rows."""
    from pyspark.sql import functions as F

    from theater.columns import discrete_percentile
    from theater.signals.common import action_quantile

    # chat: 10 rows 1..10 -> q=0.1: 1 (1/10 >= 0.1); q=0.9: 9 (9/10); q=0.95: 10
    # summarize: 3, 3, 3, 8, null -> shares 3: 3/4, 8: 4/4 -> q=0.1: 3; q=0.9: 8; q=0.75: 3
    tokens = {"chat": list(range(1, 11)), "summarize": [3, 3, 3, 8, None]}
    df = spark.createDataFrame(
        [(a, t) for a, ts in tokens.items() for t in ts], "action string, prompt_tokens long"
    )
    expected = {
        0.1: {"chat": 1, "summarize": 3},
        0.75: {"chat": 8, "summarize": 3},
        0.9: {"chat": 9, "summarize": 8},
        0.95: {"chat": 10, "summarize": 8},
    }
    for q, want in expected.items():
        got = {r.action: r.v for r in action_quantile(df, q, "v").collect()}
        assert got == want, q
        disc = df.where(F.col("prompt_tokens").isNotNull()).groupBy("action")
        disc = disc.agg(discrete_percentile("prompt_tokens", q).alias("v"))
        assert {r.action: r.v for r in disc.collect()} == want, q
    assert action_quantile(df, 0.1, "v").schema["v"].dataType == df.schema["prompt_tokens"].dataType


def test_action_value_is_the_action_s_threshold_or_null(spark):
    """The padding threshold as an expression over the action (worked by hand): each action's
    own value, null for an action without one and for a null action, as the left join gave."""
    from pyspark.sql import functions as F

    from theater.signals.common import action_value

    thresholds = spark.createDataFrame(
        [("chat", 120), ("summarize", 40)], f"action string, {padding.THRESHOLD} long"
    )
    df = spark.createDataFrame(
        [(1, "chat"), (2, "summarize"), (3, "search"), (4, None)], "id int, action string"
    )
    got = {
        r.id: r.v
        for r in df.select("id", action_value(thresholds, padding.THRESHOLD).alias("v")).collect()
    }
    assert got == {1: 120, 2: 40, 3: None, 4: None}
    assert df.select(action_value(thresholds, padding.THRESHOLD)).schema[0].dataType.typeName() == (
        "long"
    )
    empty = thresholds.where(F.lit(False))
    assert {
        r.v for r in df.select(action_value(empty, padding.THRESHOLD).alias("v")).collect()
    } == {None}
