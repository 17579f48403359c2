"""The generator as a package: output pinned to the single-module generator it replaced, and
vocabularies read from the contract.

``EXPECTED`` holds one digest per landing and truth file of two small zones. They were produced
by running ``_digests`` (below) on the output of the pre-package generator
(``src/theater/synth.py`` at commit f1cbdfd, run with ``PYTHONPATH`` pointing at an export of
that commit) for exactly the parameters of ``ZONES``; the package must reproduce every file.
Parquet files are compared by content (schema and rows, as JSON) and gzip files by their
decompressed bytes, so that a pyarrow or zlib upgrade that changes only writer metadata or
compression does not break the pin; every other file is compared byte for byte.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from theater import synth
from theater.contracts import contract

ZONES = {
    "dirty-mixed": dict(
        seed=7, n_orgs=4, n_users=64, start=date(2026, 7, 1), end=date(2026, 7, 22), dirty=True
    ),
    "clean-parquet": dict(
        seed=11,
        n_orgs=3,
        n_users=40,
        start=date(2026, 4, 6),
        end=date(2026, 4, 20),
        formats="parquet",
        rate_scale=0.5,
    ),
}


def _digests(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        if p.name.endswith(".parquet"):
            t = pq.read_table(p)
            data = json.dumps([str(t.schema), t.to_pylist()], default=str).encode()
        elif p.name.endswith(".gz"):
            data = gzip.decompress(p.read_bytes())
        else:
            data = p.read_bytes()
        out[str(p.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


EXPECTED: dict[str, dict[str, str]] = {
    "clean-parquet": {
        "landing/directory/people.parquet": "b49e50ae6e4fcb09845f6df445a2edf98b3c2b72ec844b4bd147f22278e0fad9",
        "landing/directory/transfers.parquet": "47a9bd5673d5e557167b044b7e771be74c7b5789315b3fdcd9beb2dfa33142c6",
        "landing/interactions/assistant/assistant_2026-W15.parquet": "06b26a83034b4126975f73fc564e3829e81a8d59c702c0453cbb69fe27303f19",
        "landing/interactions/assistant/assistant_2026-W16.parquet": "7121a0be126d633a7cda332775e27e89733a79bdcb73d4fc8b7416268e63b3a0",
        "landing/interactions/cli/cli_2026-W15.parquet": "b303aa25111b3c0f4f79453ccfd8b42a6ffc57cef0203de24bc190a489bb8918",
        "landing/interactions/cli/cli_2026-W16.parquet": "78eda52a67d0917e8b3bc64b7877d00f1e7b70ff60a70e8b5098905758bbf22a",
        "landing/interactions/docs/docs_2026-W15.parquet": "58e2302a8a51a5a972ed5586cf4019770fd844f6cea2635e6117d7073d7bf797",
        "landing/interactions/docs/docs_2026-W16.parquet": "ea551f79688edd592d076fc5741fb4066fd1366eef0655fc0a52eefb318911b5",
        "landing/interactions/ide/ide_2026-W15.parquet": "6c9d12a4c390c7056099b5cea39ebcaef40026c5610e1701f9de2f3a7ef8cab5",
        "landing/interactions/ide/ide_2026-W16.parquet": "9da5dfc5aed80cd170d0fdb239f49d91141bd831d8bdc26061c0b679fb525793",
        "landing/policies/org_policies.parquet": "2424391037b23a4f26e64a7c50f6edd3a96947a3a77dae36df293f7e28505eb1",
        "landing/policies/review_calendar.parquet": "63aef7e581a5936bbaff9e20b28d3dcdaca29e837cbd88c9e0cc5cdc62aff026",
        "landing/work_items/others.parquet": "c99d84f9782350fed899cf5e7d05013f2ce639502c08c486b069989daba07d1c",
        "landing/work_items/pull_requests.parquet": "e7ba6932ad996634d0905085031fb770964cb643f0d4be7753f87f71a2c1a06e",
        "landing/work_items/tickets.parquet": "c90e14ae1bc6df6ab10395069efcf50bbb8cb2e17a97f6a41212a3c1ae718ee9",
        "truth/dirty.csv": "dddafbcccf4b4679848395e2cd2c52a901dc162449faccb2176f9e40a5d65ef2",
        "truth/interactions.csv": "668a6d059f2ef1f460892f556b87ff8845c172f207ec4b242db527548f53a61c",
        "truth/orgs.csv": "5be5296dccacc9ed8a9cd3973c6897bb77a803bb155f239d0229d2a29210ae16",
        "truth/summary.json": "e47e0679f0ff7b7354d7c825b8ac694292e2bebb15790ab6f9c3cd09f3345882",
    },
    "dirty-mixed": {
        "landing/directory/people.csv": "05ec48e1e76e3fdc4fc51bc8a2c8dfb776c88d9f6803f145d68e892ebfd13032",
        "landing/directory/transfers.jsonl": "60ccf7f556597ae7d15d1f81a640b4ec6754e59bc0185eca229b78b0b7fd79ae",
        "landing/interactions/assistant/assistant_2026-W27.parquet": "dd9f6787d051535f35b3830da7e5c73f12a89e0bf19879bca7e0f53abe28c17c",
        "landing/interactions/assistant/assistant_2026-W28.jsonl": "810c7102678a13aae4813474b3a6a15d91a9aeb01b78d11772e25b294ffce982",
        "landing/interactions/assistant/assistant_2026-W29.parquet": "87ba8d4dfa115dc4d17496654f945733f387e355e56ceaa68cd45b225074039e",
        "landing/interactions/assistant/assistant_2026-W30.jsonl.gz": "9316657e534d46caa386bb600bff57dedea322bc15f4eb03100d92cee1b9b016",
        "landing/interactions/cli/cli_2026-W27.jsonl": "1664f9148bece1792bc6804e4dce29f180fceb845fbffdb52f8649efd9e46fc5",
        "landing/interactions/cli/cli_2026-W28.parquet": "5425f4330a50bf23c5b6c76e4118a961ede0731f644afc780156620979dcc4a6",
        "landing/interactions/cli/cli_2026-W29.jsonl.gz": "c757b185c5abf2488832241450fb864278ea1e6c803799736aa139fff3f7a7b8",
        "landing/interactions/cli/cli_2026-W30.csv": "f24ebcb0c52783a57b15e942adbd089c143404ca342f1a2e721b8b373caa6ffa",
        "landing/interactions/docs/docs_2026-W27-redelivered.json": "b42acf5dfc5005a716322e0b6deee1f826c5083b400c7f392596e2c5e2df6d69",
        "landing/interactions/docs/docs_2026-W27.json": "b42acf5dfc5005a716322e0b6deee1f826c5083b400c7f392596e2c5e2df6d69",
        "landing/interactions/docs/docs_2026-W28.jsonl": "99fcc5e4798fb20f00b1afe942cb53e70e8e0b739c214840fd9da9fcb6491174",
        "landing/interactions/docs/docs_2026-W29.parquet": "1c9f3be0e607742964d942cbe714fbca830c97fc8da41d6173dcbe2042c25351",
        "landing/interactions/docs/docs_2026-W30.jsonl": "99b1a24bd144b0b9099d1283ff77d34dc5a2470c2caa45e6e8e912c8515f6e67",
        "landing/interactions/ide/ide_2026-W27.jsonl.gz": "5852a049120aadfdbfc5b081d1fd69bcf134aa6e28ae65f4dda634f9ddf35158",
        "landing/interactions/ide/ide_2026-W28.csv": "340fa89505a9bc985a45b0128c9e1e4ed7ebf54527e825c58607fce84945c9ce",
        "landing/interactions/ide/ide_2026-W29.parquet": "d9024be80c974abbd385d20406937d6bb424a847bcb6a9d95aba74371813d19d",
        "landing/interactions/ide/ide_2026-W30.json": "915249c68692f4be7d94b7f9b04ff7018bb962c472f82b478125ad4c864e52eb",
        "landing/policies/org_policies.csv": "8d8c828cbc728a4eff82d46d84f4b0cf20aae09f984ff52263874f130caa2c66",
        "landing/policies/review_calendar.json": "1a9406ede716dd1b9f54123595136d86b2018fcca226c20b6c0071ac25a7920c",
        "landing/work_items/others.jsonl.gz": "8815631d0fc1ed1a273e7d8b55f5fb3571ed79570ef2d18699513ace8a9a2cd2",
        "landing/work_items/pull_requests.parquet": "ee310f44692b72e49caa3d40a984333f77e6719631f74f0c40645566d7d96c18",
        "landing/work_items/tickets.jsonl": "ddd933ce94865a5c8bed630b32913e4eaabd35600a020de44527b807753efc51",
        "truth/dirty.csv": "06e99b7a3b1cb1e214cab25218ed945c81554692a94909e1a23a74af7a9d93a9",
        "truth/interactions.csv": "d0c5615374cf6730c9536b6fbb8f5f38f833292613b4a4870f7d7da3f89243fd",
        "truth/orgs.csv": "10b0200332235ffe180c363d3b51934505fa28fa5aa924152aa604d84c3fc6f9",
        "truth/summary.json": "d32cbe237a8e95f1aba24d6ad9697b93bd158f3b45b74289314984251c7aea5d",
    },
}


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_package_reproduces_the_single_module_generator(zone, tmp_path):
    synth.generate(tmp_path, **ZONES[zone])
    got = _digests(tmp_path)
    want = EXPECTED[zone]
    assert sorted(got) == sorted(want), "different set of files"
    changed = [f for f in want if got[f] != want[f]]
    assert not changed, f"files differ from the reference run: {changed}"


def test_vocabularies_come_from_the_contract():
    inter = contract("interactions")
    assert synth.ACTIONS == inter.field("action").enum
    assert synth.DISPOSITIONS[1:] == inter.field("output_disposition").enum
    assert synth.DISPOSITIONS[0] is None
    from theater.synth import vocab

    assert vocab.WORK_ITEM_KINDS == contract("work_items").field("kind").enum
    # per-action tables are keyed by name: each row of the tool mix is a distribution
    assert vocab.TOOL_ACTIONS.shape == (len(synth.TOOLS), len(synth.ACTIONS))
    assert vocab.TOOL_ACTIONS.sum(1) == pytest.approx([1.0] * len(synth.TOOLS))
    with pytest.raises(ValueError, match="missing"):
        vocab.by_action({"chat": 1.0})
