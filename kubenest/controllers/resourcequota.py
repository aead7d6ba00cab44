"""ResourceQuota controller: keeps each quota's `status.hard` and `status.used` current.

As kube's resourcequota controller (pkg/controller/resourcequota): `status.hard` mirrors `spec.hard`
and `status.used` holds the namespace's usage of every limited resource, computed by the same
evaluators the ResourceQuota admission plugin charges with (`kubenest.api.admission`). Any write to a
namespaced object in a namespace that has quotas brings its quotas back for a sync: a registry write
hook instead of a watch per resource, so quotas on any kind (`count/widgets.example.com`) follow,
and namespaces without quotas cost one dictionary lookup per write.
"""

from __future__ import annotations

from typing import Any

from kubenest.api import admission
from kubenest.api.request import Request
from kubenest.controllers.client import Client
from kubenest.controllers.runtime import Controller, Key

Obj = dict[str, Any]
QUOTAS = "resourcequotas"


class ResourceQuotaController(Controller):
    name = "resourcequota"
    primary = QUOTAS

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        client.registry.after_write.append(self.on_write)

    def on_write(self, req: Request, old: Obj | None, new: Obj | None) -> None:
        """Registry hook: a write in a namespace with quotas may change their usage."""
        if self.manager is None or not req.resource.namespaced or req.key in (QUOTAS, *admission.IGNORED):
            return
        cluster, namespace = req.cluster.name, req.namespace
        if not self.client.store.count(cluster, QUOTAS, namespace):
            return
        for e in self.client.store.entries(cluster, QUOTAS, namespace):
            self.manager.enqueue(self, (cluster, namespace, e.obj["metadata"]["name"]))

    async def reconcile(self, key: Key) -> None:
        cluster, namespace, name = key
        quota = self.client.get(cluster, QUOTAS, namespace, name)
        if quota is None or quota["metadata"].get("deletionTimestamp"):
            return
        hard = (quota.get("spec") or {}).get("hard") or {}
        used = admission.namespace_usage(self.client.store, cluster, namespace, quota)
        status = {"hard": dict(hard), "used": {k: admission.quantity_text(v) for k, v in sorted(used.items())}}
        current = quota.get("status") or {}
        if _same(current.get("hard"), status["hard"]) and _same(current.get("used"), status["used"]):
            return
        upd = self.client.copy(quota)
        upd["status"] = status
        await self.client.update_status(cluster, upd)


def _same(a: Any, b: dict[str, str]) -> bool:
    """Quantities compare by value ("1" equals "1000m"), as kube's quota.Equals does."""
    a = a if isinstance(a, dict) else {}
    if set(a) != set(b):
        return False
    have, want = admission.resource_list(a), admission.resource_list(b)
    return all(k in have and have[k][0] == q[0] for k, q in want.items())
