"""apimachinery's util/rand: the alphabet kube draws generated names and hashes from."""

from __future__ import annotations

import os
import random
import threading

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
    """Random (version 4) UUIDs from a pool of os.urandom bytes.

    uuid.uuid4() reads the kernel once per call, and os.urandom releases the GIL for that: with the
    SQLite writer thread waiting for the GIL, every object created paid for a thread switch.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def __call__(self) -> str:
        with self._lock:
            if self._at >= len(self._pool):
                self._pool, self._at = os.urandom(16 * 256), 0
            h = self._pool[self._at:self._at + 16].hex()
            self._at += 16
        # Version 4 in the 13th digit, the RFC 4122 variant (8, 9, a or b) in the 17th, as uuid4 sets them.
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


new_uid = _UidSource()


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each byte mapped onto the alphabet (pod-template-hash, revision names)."""
    return "".join(SAFE_ALPHANUMS[b % len(SAFE_ALPHANUMS)] for b in text.encode())
