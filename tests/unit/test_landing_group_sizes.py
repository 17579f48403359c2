"""Groups of consecutive landing files of about ``ingest.group_bytes`` bytes (hand-worked)."""

from __future__ import annotations

import pytest

from theater.stages.ingest import landing_groups


@pytest.mark.parametrize(
    ("sizes", "group_bytes", "expected"),
    [
        # 232 MB of landing under 256 MiB: one group, the layout of a single write
        ([100, 100, 32], 256, [0, 0, 0]),
        # exactly the bound still fits: 100 + 156 = 256
        ([100, 156, 1], 256, [0, 0, 1]),
        # 100 + 100 = 200; + 100 = 300 > 256 -> new group; 100 + 100 = 200; + 57 = 257 > 256
        ([100, 100, 100, 100, 57], 256, [0, 0, 1, 1, 2]),
        # a file over the bound is a group by itself, and the next file starts another
        ([10, 300, 10, 10], 256, [0, 1, 2, 2]),
        ([300, 300], 256, [0, 1]),
        # a bound of 1 byte: every non-empty file alone
        ([5, 7, 9], 1, [0, 1, 2]),
        # empty files never open a group
        ([0, 0, 5], 1, [0, 0, 0]),
        ([], 256, []),
    ],
)
def test_landing_groups(sizes, group_bytes, expected):
    assert landing_groups(sizes, group_bytes) == expected
