"""Generated names (kubenest.api.names): kube's alphabet, uniform in every position, unique uids."""

from __future__ import annotations

import collections
import random
import re

from kubenest.api.names import SAFE_ALPHANUMS, new_uid, random_string


def test_generated_suffixes_are_uniform_over_kubes_alphabet_in_every_position() -> None:
    n = 54_000  # 2,000 expected per character and position
    counts = [collections.Counter[str]() for _ in range(5)]
    for _ in range(n):
        suffix = random_string()
        assert len(suffix) == 5
        for i, ch in enumerate(suffix):
            counts[i][ch] += 1
    for position in counts:
        assert set(position) == set(SAFE_ALPHANUMS)
        # A chi-square statistic over 26 degrees of freedom above 70 has odds below one in a million.
        expected = n / len(SAFE_ALPHANUMS)
        assert sum((c - expected) ** 2 / expected for c in position.values()) < 70


def test_other_lengths_and_seeded_generators_draw_each_character() -> None:
    assert random_string(8, random.Random(1)) == random_string(8, random.Random(1))
    assert len(random_string(12)) == 12 and set(random_string(40)) <= set(SAFE_ALPHANUMS)


def test_uids_are_version_4_and_distinct() -> None:
    uids = {new_uid() for _ in range(5000)}
    assert len(uids) == 5000
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u) for u in uids)
