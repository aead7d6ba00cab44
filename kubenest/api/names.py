"""apimachinery's util/rand: the alphabet kube draws generated names and hashes from."""

from __future__ import annotations

import os
import random

SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # no vowels, no 0/1/3: cannot spell words


# Every pair of characters, so a five-character suffix is three lookups of one random number.
_PAIRS = [a + b for a in SAFE_ALPHANUMS for b in SAFE_ALPHANUMS]
_SUFFIXES = len(SAFE_ALPHANUMS) ** 5


def random_string(n: int = 5, rng: random.Random | None = None) -> str:
    """rand.String: `n` characters for generateName suffixes and volume names, each uniform over the alphabet."""
    if n != 5 or rng is not None:
        return "".join((rng or random).choices(SAFE_ALPHANUMS, k=n))
    # One draw for all five (a generated name per create): 48 random bits leave no measurable bias.
    high, low = divmod(random.getrandbits(48) % _SUFFIXES, len(_PAIRS))
    first, middle = divmod(high, len(_PAIRS))
    return SAFE_ALPHANUMS[first] + _PAIRS[middle] + _PAIRS[low]


class _UidSource:
    """Random (version 4) UUIDs, made 256 at a time from one os.urandom read.

    uuid.uuid4() reads the kernel once per call, and os.urandom releases the GIL for that: with the
    SQLite writer thread waiting for the GIL, every object created paid for a thread switch. Taking one
    from a list needs no lock: list.pop and list.extend are atomic.
    """

    def __init__(self) -> None:
        self._pool: list[str] = []

    def __call__(self) -> str:
        try:
            return self._pool.pop()
        except IndexError:
            self._pool.extend(self._make(256))
            return self._pool.pop()

    @staticmethod
    def _make(count: int) -> list[str]:
        digits = os.urandom(16 * count).hex()
        out = []
        for i in range(0, 32 * count, 32):
            h = digits[i:i + 32]
            # Version 4 in the 13th digit, the RFC 4122 variant (8, 9, a or b) in the 17th, as uuid4 sets them.
            out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}")
        return out


new_uid = _UidSource()


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each byte mapped onto the alphabet (pod-template-hash, revision names)."""
    return "".join(SAFE_ALPHANUMS[b % len(SAFE_ALPHANUMS)] for b in text.encode())
