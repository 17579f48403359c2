"""Refine's pseudonym mapping written once and read back (``refine.pseudonym_identities``):
hand-made bronze rows, pseudonyms worked out by hand with the standard library's HMAC.

The mapping holds each distinct identity of the resolved rows (user and artifact author,
trimmed, e-mail addresses lower-cased) once; ``clean_interactions`` given it, or given a
mapping with more identities than its rows have, returns the same rows as with the mapping
computed inside its plan."""

from __future__ import annotations

import hashlib
import hmac

from test_refine_latest_repeats import KEY, _rows, row

from theater.stages import refine


def _resolve(df):
    return refine.resolve_vendor_identities(df.transform(refine._native_identities))


def _h(value: str) -> str:
    return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()


def _all(df):
    return sorted((tuple(r) for r in df.collect()), key=repr)


def test_mapping_has_each_identity_once_with_its_keyed_hash(spark, tmp_path):
    bronze = _rows(
        spark,
        [
            row("e1", user=" Alice@Example.com ", artifact_author_id="bob"),
            row("e2", user="alice@example.com"),  # the same person once normalized
            row("e3", user="bob", artifact_author_id="carol"),
            row("e4", user="bob", artifact_author_id=None),
        ],
    )
    mapping = refine.pseudonym_identities(
        spark, bronze, refine._native_identities, KEY, str(tmp_path)
    )
    got = sorted((r._id, r._key) for r in mapping.collect())
    assert got == [
        (" Alice@Example.com ", _h("alice@example.com")),
        ("alice@example.com", _h("alice@example.com")),
        ("bob", _h("bob")),
        ("carol", _h("carol")),
    ]


def test_clean_interactions_from_the_written_mapping_keeps_the_same_rows(spark, tmp_path):
    rows = [
        row("e1", user="u1", artifact_author_id="u2"),
        row("e2", user="u2"),
        row("e2", user="u2", batch="b2", dwell_ms="2"),  # a repeated key: the window's part
        row("e3", user="u3", artifact_author_id="u1"),
    ]
    bronze = _rows(spark, rows)
    mapping = refine.pseudonym_identities(
        spark, bronze, refine._native_identities, KEY, str(tmp_path)
    )
    want = refine.clean_interactions(bronze, KEY, _resolve)
    assert _all(refine.clean_interactions(bronze, KEY, _resolve, mapping)) == _all(want)
    got = {r.event_id: (r.user_key, r.artifact_author_key) for r in want.collect()}
    assert got == {"e1": (_h("u1"), _h("u2")), "e2": (_h("u2"), None), "e3": (_h("u3"), _h("u1"))}
    # one bucket's rows with the mapping of all of bronze (more identities than they have)
    part = _rows(spark, rows[:1], parts=1)
    alone = refine.clean_interactions(part, KEY, _resolve, mapping)
    assert _all(alone) == _all(refine.clean_interactions(part, KEY, _resolve))
    assert [(r.user_key, r.artifact_author_key) for r in alone.collect()] == [(_h("u1"), _h("u2"))]
