"""JSON arrays re-framed as JSON lines: bracket framing against the general streamer.

For every ``.json`` file under LANDING, ``sources.landing.json_to_lines`` runs twice per round,
as ingest runs it (arrays of objects framed by their brackets, ``stream.frame_json_array``)
and with the framing turned off (every file through ``stream.iter_records``); the two outputs
must be byte for byte equal. Prints, per file, whether the framing took it, and the CPU s of
each way over all rounds (pure Python, no engine). Figures: ``benchmarks/RESULTS.md``.

    PYTHONPATH=src python benchmarks/ingest_json_framing.py LANDING [--rounds 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import glob
import os
import resource
import tempfile

from theater.sources import landing as L


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("landing")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=tempfile.mkdtemp(prefix="json-framing-"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    files = sorted(glob.glob(os.path.join(args.landing, "**", "*.json"), recursive=True))
    fast_out, slow_out = os.path.join(args.out, "fast.jsonl"), os.path.join(args.out, "slow.jsonl")
    framing = L.frame_json_array
    fast = slow = 0.0
    for r in range(args.rounds):
        for f in files:
            c0 = cpu()
            n_fast = L.json_to_lines(f, fast_out)
            c1 = cpu()
            L.frame_json_array = lambda *a: None
            try:
                n_slow = L.json_to_lines(f, slow_out)
            finally:
                L.frame_json_array = framing
            c2 = cpu()
            fast, slow = fast + c1 - c0, slow + c2 - c1
            same = n_fast == n_slow and filecmp.cmp(fast_out, slow_out, shallow=False)
            if r == 0:
                took = framing(f, lambda b: None, L.current_limits()) is not None
                print(
                    f"{os.path.relpath(f, args.landing)} records {n_fast} framed {took} same {same}"
                )
            if not same:
                raise SystemExit(f"{f}: the framing's lines differ from the streamer's")
    print(f"CPU s over {args.rounds} round(s): framing {fast:.2f}, streamer {slow:.2f}")


if __name__ == "__main__":
    main()
