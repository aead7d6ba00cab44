"""The controller runtime (kubenest.controllers.runtime): events reach the controllers that may act on them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from kubenest.controllers.runtime import Controller, Key, Manager
from kubenest.store.backend import MemoryBackend
from kubenest.store.store import Event, Store


class _Recorder(Controller):
    primary = "configmaps"

    def __init__(self, name: str) -> None:
        super().__init__(None)  # type: ignore[arg-type] - reconcile never runs here
        self.name = name
        self.seen: list[str] = []

    def keys_for(self, ev: Event) -> Iterable[Key]:
        self.seen.append(f"{ev.cluster}/{ev.name}")
        return ()


class _OnlyCluster(_Recorder):
    def relevant(self, ev: Event) -> bool:
        return ev.cluster == "wanted"


def _run(controllers: list[Controller]) -> None:
    """Start a manager with `controllers`, write a config map in two clusters, let the pumps run."""
    async def main() -> None:
        store = Store(MemoryBackend())
        manager = Manager(store, workers=1)
        for c in controllers:
            manager.add(c)
        manager.start(resync=False)
        for cluster in ("wanted", "other"):
            await store.create(cluster, "configmaps", "ns", "c", {"metadata": {"name": "c", "namespace": "ns"}})
        await asyncio.sleep(0.05)
        manager.stop()

    asyncio.run(main())


def test_events_no_controller_of_a_watch_finds_relevant_are_dropped_by_the_store() -> None:
    only = _OnlyCluster("only")
    _run([only])
    assert only.seen == ["wanted/c"]


def test_a_controller_without_a_relevance_test_sees_every_event_of_a_shared_watch() -> None:
    only, everything = _OnlyCluster("only"), _Recorder("everything")
    _run([only, everything])
    # One watch for both: with a controller that wants everything, no event is dropped for either.
    assert everything.seen == ["wanted/c", "other/c"]
    assert only.seen == ["wanted/c", "other/c"]
