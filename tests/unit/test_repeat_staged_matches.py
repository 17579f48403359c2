"""The repeat signal with its matches written first (``stage``) gives the flags of one plan:
worked by hand on a repeat that fires and on prompts whose outputs were all used (no match,
an empty written copy)."""

from __future__ import annotations

from datetime import timedelta

from builders import T0, by_id, interaction, make_interactions

from theater.buckets import materialize
from theater.signals import repeat_prompt


def _staged(spark, path):
    return lambda frame: materialize(spark, frame, str(path))


def test_staged_matches_fire_as_one_plan(spark, tmp_path):
    fp = "0123456789abcdef"
    rows = [
        # e1 discarded: an unused prior; e2 the same prompt 2 hours later, ignored: fires;
        # e3 the same prompt accepted: used, never fires; e4 a near one (last digit f -> e:
        # one bit) a day later, discarded: fires
        interaction(1, prompt_fingerprint=fp, output_disposition="discarded", ts=T0),
        interaction(
            2, prompt_fingerprint=fp, output_disposition="ignored", ts=T0 + timedelta(hours=2)
        ),
        interaction(
            3, prompt_fingerprint=fp, output_disposition="accepted", ts=T0 + timedelta(hours=3)
        ),
        interaction(
            4,
            prompt_fingerprint="0123456789abcdee",
            output_disposition="discarded",
            ts=T0 + timedelta(days=1),
        ),
    ]
    df = make_interactions(spark, rows)
    want = {"e1": False, "e2": True, "e3": False, "e4": True}
    staged = repeat_prompt.flag(3, 7, True, 5000, _staged(spark, tmp_path / "hits"))
    assert by_id(df.transform(staged), "sig_repeat_prompt") == want
    assert by_id(df.transform(repeat_prompt.flag(3, 7, True, 5000)), "sig_repeat_prompt") == want


def test_staged_matches_without_any_match(spark, tmp_path):
    rows = [
        interaction(
            i,
            prompt_fingerprint="aaaaaaaaaaaaaaaa",
            output_disposition="accepted",
            ts=T0 + timedelta(hours=i),
        )
        for i in range(1, 4)
    ]
    staged = repeat_prompt.flag(3, 7, True, 5000, _staged(spark, tmp_path / "hits"))
    out = make_interactions(spark, rows).transform(staged)
    assert by_id(out, "sig_repeat_prompt") == {"e1": False, "e2": False, "e3": False}
