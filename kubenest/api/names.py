"""apimachinery's util/rand: the alphabet kube draws generated names and hashes from."""

from __future__ import annotations

import random

SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # no vowels, no 0/1/3: cannot spell words


def random_string(n: int = 5, rng: random.Random | None = None) -> str:
    """rand.String: `n` characters for generateName suffixes and volume names."""
    r = rng or random
    return "".join(r.choice(SAFE_ALPHANUMS) for _ in range(n))


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each byte mapped onto the alphabet (pod-template-hash, revision names)."""
    return "".join(SAFE_ALPHANUMS[b % len(SAFE_ALPHANUMS)] for b in text.encode())
