"""The shipped prompt SimHash (theater.fingerprint): format, normalization, near-duplicates."""

from __future__ import annotations

import json
import random
import re
import statistics

from theater.fingerprint import EMPTY, hamming, normalize, simhash64

PATTERN = json.load(open("src/theater/contract/interaction.schema.json"))["properties"][
    "prompt_fingerprint"
]["pattern"]

PROMPT = (
    "Please review the attached quarterly sales report for the northern region and write a "
    "short summary for the leadership meeting on Thursday. Focus on the three largest deals, "
    "the accounts that churned, and any risk to the renewal pipeline. Compare the numbers with "
    "the previous quarter and with the plan that finance approved in January. Keep the tone "
    "neutral, avoid jargon, and list open questions for the account owners at the end. If the "
    "data looks inconsistent, say which table and which column, and suggest how we could check "
    "it before the meeting. The audience is the regional director, two sales managers and the "
    "finance partner, so explain acronyms once. Use bullet points for the deals and a short "
    "paragraph for the overall trend, and mention the marketing campaign that started in "
    "February only if it clearly changed the pipeline."
)


def test_format_is_sixteen_lowercase_hex_digits():
    for text in (PROMPT, "x", "Ünïcödé façade", "   "):
        assert re.fullmatch(PATTERN, simhash64(text))
    assert simhash64("") == simhash64("  ... !!! ") == EMPTY == "0000000000000000"


def test_equal_text_equal_hash_and_normalization():
    assert simhash64(PROMPT) == simhash64(PROMPT)
    assert normalize("  Hello,\tWORLD!!  foo_bar ") == "hello world foo bar"
    same = [
        "Summarize the Q3 board deck",
        "summarize   the q3 BOARD deck.",
        "Summarize, the Q3 board-deck!",
        "deck board Q3 the summarize",
    ]
    assert len({simhash64(t) for t in same}) == 1


def test_pinned_values_do_not_drift():
    # fixed algorithm (BLAKE2b-64 per distinct word): these values must never change, or every
    # stored fingerprint stops matching new ones
    assert simhash64("hello world") == simhash64("HELLO, world")
    assert simhash64("Summarize the Q3 board deck") == PINNED


PINNED = "49f2abc2909eb0e0"


def test_one_word_edit_in_a_long_prompt_is_a_near_duplicate():
    words = PROMPT.split()
    assert len(words) == 140
    base = simhash64(PROMPT)
    rnd = random.Random(20261130)
    replacements = [
        "banana",
        "kubernetes",
        "poetry",
        "invoice",
        "glacier",
        "tuesday",
        "syntax",
        "marathon",
        "copper",
        "lantern",
    ]
    distances = []
    for i in rnd.sample(range(len(words)), 40):
        edited = words[:i] + [rnd.choice(replacements)] + words[i + 1 :]
        distances.append(hamming(base, simhash64(" ".join(edited))))
    assert statistics.median(distances) <= 3
    assert max(distances) <= 8


def test_unrelated_prompts_are_far_apart():
    others = [
        "Write a Python function that parses ISO 8601 timestamps with offsets and returns UTC.",
        "What is the capital of Australia and when did it become the capital?",
        "Draft a polite email declining the vendor's proposal for the new office furniture.",
        "Translate the following paragraph into German and keep the technical terms in English.",
        "Generate unit tests for the shopping cart discount logic, including expired coupons.",
    ]
    fps = [simhash64(t) for t in [PROMPT] + others]
    pairs = [hamming(a, b) for i, a in enumerate(fps) for b in fps[i + 1 :]]
    assert min(pairs) >= 12
    assert statistics.mean(pairs) >= 24


def test_hamming():
    assert hamming("0000000000000000", "ffffffffffffffff") == 64
    assert hamming("00000000000000f0", "0000000000000010") == 3
