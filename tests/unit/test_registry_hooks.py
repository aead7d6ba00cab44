"""Registry hooks (admission, begin_create, after_write) are called for the writes they declare with `handles`."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from kubenest.api.clusters import Clusters
from kubenest.api.registry import Registry, handles
from kubenest.api.request import Request, User
from kubenest.store.backend import MemoryBackend
from kubenest.store.store import Store


def test_hooks_run_only_for_the_resources_and_operations_they_handle() -> None:
    calls: list[tuple[str, str, str]] = []

    def admission(name: str) -> Any:
        async def hook(req: Request, obj: Any, old: Any) -> None:
            calls.append((name, req.key, "create" if old is None else "update"))
        return hook

    def plain(name: str) -> Any:
        def hook(req: Request, obj: Any, old: Any) -> None:  # a plain function: called, nothing awaited
            calls.append((name, req.key, "create" if old is None else "update"))
        return hook

    def after(name: str) -> Any:
        async def hook(req: Request, old: Any, new: Any) -> None:
            calls.append((name, req.key, "create" if old is None else "update"))
        return hook

    async def main() -> None:
        store = Store(MemoryBackend())
        cluster = await Clusters(store).create("root")
        registry = Registry(store)
        registry.mutating_admission.append(handles(resources=("pods",))(admission("pods-only")))
        registry.validating_admission.append(handles(operations=("update",))(admission("updates-only")))
        everything = admission("everything")
        registry.validating_admission.append(everything)
        registry.validating_admission.append(handles(operations=("create",))(plain("plain-creates")))
        registry.after_write.append(handles(resources=("configmaps",), operations=("create",))(after("after")))
        user = User("admin", ("system:masters",))
        configmaps = cluster.resource("", "v1", "configmaps")
        assert configmaps is not None
        body = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        await registry.create(Request("POST", "create", cluster, configmaps, "default", "", "", {}, {}, user, body))
        update = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}})
        await registry.update(Request("PUT", "update", cluster, configmaps, "default", "c", "", {}, {}, user, update))
        registry.validating_admission.remove(everything)  # gone for the next write
        calls.append(("removed", "", ""))
        again = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "c"}})
        await registry.update(Request("PUT", "update", cluster, configmaps, "default", "c", "", {}, {}, user, again))

    asyncio.run(main())
    assert calls == [("everything", "configmaps", "create"), ("plain-creates", "configmaps", "create"),
                     ("after", "configmaps", "create"),
                     ("updates-only", "configmaps", "update"), ("everything", "configmaps", "update"),
                     ("removed", "", ""), ("updates-only", "configmaps", "update")]
