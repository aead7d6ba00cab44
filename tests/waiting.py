"""Polling for end-to-end tests: things that happen asynchronously (controllers, the syncer, pods)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], timeout: float = 30, what: str = "condition",
               interval: float = 0.05) -> Any:
    """Call `check` until it returns something truthy and return that; an AssertionError inside `check`
    counts as not yet. Past `timeout`, fail saying what was awaited and the last result or error."""
    deadline = time.time() + timeout
    last: Any = None
    while True:
        try:
            result = check()
            last = result
        except AssertionError as e:
            result, last = None, e
        if result:
            return result
        if time.time() >= deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
        time.sleep(interval)
