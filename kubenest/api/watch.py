"""Watch: a stream of newline-delimited JSON events with kube's resourceVersion semantics.

- resourceVersion unset or "0": replay the current state as ADDED events, then follow.
- resourceVersion N: events after N from the store's history window, or 410 Expired if N is too old.
- sendInitialEvents=true: replay the state, then a BOOKMARK annotated `k8s.io/initial-events-end`.
- label and field selectors: an object that stops matching is sent as DELETED, one that starts as
  ADDED, as kube's watch cache does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from kubenest.api import errors, selectors
from kubenest.api.registry import parse_selectors
from kubenest.api.request import Request
from kubenest.store.store import Event, Store, StoreError

BOOKMARK_INTERVAL = 60.0

Encoder = Callable[[dict[str, Any], bytes], bytes]


def _matcher(req: Request) -> Callable[[dict[str, Any] | None], bool] | None:
    label_sel, field_sel = parse_selectors(req)
    if label_sel is None and field_sel is None:
        return None
    r = req.resource

    def matches(obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        if label_sel is not None and not label_sel.matches(meta.get("labels")):
            return False
        if field_sel is not None and not field_sel.matches(selectors.field_attributes(r.group, r.kind, obj)):
            return False
        return True

    return matches


def _filter(matches: Callable[[dict[str, Any] | None], bool]) -> Callable[[Event], Event | None]:
    def filt(ev: Event) -> Event | None:
        now = matches(ev.obj) if ev.type != "DELETED" else False
        before = matches(ev.prev)
        if ev.type == "DELETED":
            return ev if before else None
        if now and before:
            return ev
        if now:
            return Event("ADDED", ev.cluster, ev.resource, ev.namespace, ev.name, ev.rv, ev.obj, ev.raw, ev.prev)
        if before:
            return Event("DELETED", ev.cluster, ev.resource, ev.namespace, ev.name, ev.rv, ev.obj, ev.raw, ev.prev)
        return None

    return filt


def event_line(type_: str, raw: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"


async def stream(
    req: Request,
    store: Store,
    encode: Encoder | None = None,
) -> tuple[AsyncIterator[bytes], Callable[[], None]]:
    """Start a watch; returns the chunks to send and a function that ends the watch.

    Validation errors (bad selectors, expired revision) raise before anything is sent.
    `encode(obj, raw)` re-encodes objects (Table or metadata views); None sends them as stored.
    """
    matches = _matcher(req)
    filt = _filter(matches) if matches is not None else None
    r = req.resource
    cluster = req.cluster.name
    namespace = req.namespace if (r.namespaced and req.namespace) else None
    rv_text = req.q("resourceVersion")
    send_initial = req.flag("sendInitialEvents")
    bookmarks = req.flag("allowWatchBookmarks")
    if send_initial and not bookmarks:
        raise errors.invalid("ListOptions", "meta.k8s.io", "", [],
                             'ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Required value: '
                             "allowWatchBookmarks required when sendInitialEvents is true")
    if send_initial and req.q("resourceVersionMatch") not in ("NotOlderThan",):
        raise errors.invalid("ListOptions", "meta.k8s.io", "", [],
                             'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                             "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
    since: int | None
    replay = False
    if rv_text in ("", "0") or send_initial:
        replay = rv_text in ("", "0") or send_initial
        since = store.rv
    else:
        try:
            since = int(rv_text)
        except ValueError:
            raise errors.bad_request(f'invalid resource version: "{rv_text}"') from None
    timeout_s = req.int_param("timeoutSeconds", 1800)
    deadline = time.monotonic() + (timeout_s if timeout_s > 0 else 1800)
    try:
        watcher = store.watch(cluster, r.group_resource, namespace, since if not replay else store.rv, filt)
    except StoreError:
        # Past authentication and a parseable resourceVersion, kube answers an expired one on an opened
        # stream with a single ERROR event (the watch cache's errWatcher), not with an HTTP error.
        expired = errors.expired_rv(since or 0, store.oldest_history_rv() - 1)
        return _single(event_line("ERROR", orjson.dumps(expired.status()))), lambda: None
    start_rv = store.rv
    initial: list[bytes] = []
    if replay:
        for e in store.entries(cluster, r.group_resource, namespace):
            if matches is not None and not matches(e.obj):
                continue
            raw = encode(e.obj, e.raw) if encode else e.raw
            initial.append(event_line("ADDED", raw))

    def bookmark(rv: int, end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": r.kind, "apiVersion": r.api_version, "metadata": meta}
        return event_line("BOOKMARK", orjson.dumps(obj))

    def stop() -> None:
        if not watcher.closed:
            store.unwatch(cluster, r.group_resource, watcher)
            watcher.queue.put_nowait(None)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            if initial:
                yield b"".join(initial)
            if send_initial:
                yield bookmark(start_rv, end=True)
            # Timers put markers in the queue, so the loop below is a plain `await q.get()` per
            # event: no per-event timeout task, which matters with thousands of watchers.
            loop = asyncio.get_running_loop()
            q = watcher.queue
            timers = [loop.call_later(max(deadline - time.monotonic(), 0), q.put_nowait, None)]
            if bookmarks:
                timers.append(_every(loop, BOOKMARK_INTERVAL, q, timers))
            try:
                while True:
                    ev = await q.get()
                    parts: list[bytes] = []
                    while True:
                        if ev is None:
                            if parts:
                                yield b"".join(parts)
                            return
                        if ev is _TICK:
                            parts.append(bookmark(store.committed_rv))
                        elif not (replay and ev.rv <= start_rv):  # else: already sent in the replayed state
                            parts.append(_line(ev, encode))
                        # Drain what is already queued into one chunk: fewer sends under load.
                        if q.empty() or len(parts) >= 256:
                            break
                        ev = q.get_nowait()
                    if parts:
                        yield b"".join(parts)
            finally:
                for t in timers:
                    t.cancel()
        finally:
            stop()

    return chunks(), stop


async def _single(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk


def _line(ev: Event, encode: Encoder | None) -> bytes:
    if encode is not None:
        return event_line(ev.type, encode(ev.obj, ev.raw))
    # Encoded once per event, however many watchers receive it.
    if ev.line is None:
        ev.line = event_line(ev.type, ev.raw)
    return ev.line


# A queue marker: time for a bookmark.
_TICK = Event("BOOKMARK", "", "", "", "", 0, {}, b"", None)


def _every(loop: asyncio.AbstractEventLoop, interval: float, q: asyncio.Queue[Event | None],
           timers: list[asyncio.TimerHandle]) -> asyncio.TimerHandle:
    """Put a bookmark marker in `q` every `interval` seconds (the newest handle replaces timers[1])."""

    def fire() -> None:
        q.put_nowait(_TICK)
        timers[1] = loop.call_later(interval, fire)

    return loop.call_later(interval, fire)
