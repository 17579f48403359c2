"""Synthetic landing zone with planted AI-adoption theater, and its ground truth.

``generate(out, ...)`` writes ``out/landing/`` (interactions, directory, work_items, policies in
the five landing formats, obeying ``shared/contract``) and ``out/truth/`` (``interactions.csv``,
``orgs.csv``, ``dirty.csv``, ``summary.json``). Pure numpy + pyarrow, vectorised over rows:
per-org / per-file loops only. Same seed and parameters -> byte-identical files.

How the data is made
--------------------
Users belong to orgs (type-2 directory; ~3% move org on a Monday inside the period). Each user
has a weekly rate of *episodes*; an episode is one interaction or a short chain of them. An
episode is theater with a per-user propensity (org intensity x user factor, lower before an
org's mandate date), and then gets a mechanism from the org's own mix:

==================  =========================================================================
discard             normal prompt, output unused (discarded/ignored, or dwell < 5 s and no use)
self_summary        summarize, author == user, artifact unchanged 8-60 days, output unused
repeat              a discard followed by 1-3 re-sends within 6 days: same artifact (or both
                    none), fingerprint within 0-3 bits of the original, output unused
fragment            5-8 prompts of 2-8 tokens on one artifact, 1-5 min apart, inside 30 min
padding             prompt tokens 4-10x the action's median (above its 90th pct), output unused
checkpoint_burst    extra usage in the 3 working days before a checkpoint (org or ``*``)
quota_filler        users short of their org's weekly quota top the ISO week up to Q or Q+1
==================  =========================================================================

Fillers and bursts are 75% detectably unused, 25% with neither disposition nor dwell.
Genuine episodes: single requests (about 87% used, 10% read without a disposition for >= 5 s,
2.5% honest failures), and hard negatives: heavy users, shared prompt templates (one
fingerprint, many users, fresh artifacts, used), iterative chats (3-6 turns on one artifact,
fingerprints far apart, middle turns read, last accepted), long documents summarized (used;
own documents only when changed within 7 days), and users with exactly 10 or 20 interactions
a week in orgs without a quota.

``generate(..., variation=Variation(...))`` varies quota levels, quota changes mid-period, the
share of orgs with a quota, user activity heterogeneity, holiday weeks and how detectable the
fillers' outputs are (``variation`` module); the truth then also lists the hard negatives.


Modules
-------
``vocab`` (codes and vocabularies, read from the contract where it defines them), ``arrays``
(vectorised helpers), ``world`` (orgs, users, calendar, policies), ``episodes`` (interactions as
code arrays), ``columns`` (codes -> the interaction table), ``side`` (directory, work items,
policies), ``dirty`` (bad records), ``writers`` (landing formats and files), ``truth``
(``out/truth``), ``steps`` (``generate``: the steps in order).
"""

from __future__ import annotations

from .steps import generate
from .variation import Variation
from .vocab import ACTIONS, BAD_KINDS, DISPOSITIONS, FORMATS, MECHANISMS, TOOLS, USED

__all__ = [
    "generate",
    "Variation",
    "TOOLS",
    "ACTIONS",
    "MECHANISMS",
    "DISPOSITIONS",
    "USED",
    "FORMATS",
    "BAD_KINDS",
]
