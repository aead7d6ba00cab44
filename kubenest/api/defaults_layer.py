"""Shared default objects: kube's bootstrap RBAC, served in every cluster without being stored.

Each Kubernetes version's defaults become store entries once (with a deterministic uid, a creation
time and resourceVersion 1) and are registered with the store, which shows them in every cluster
until that cluster writes a private copy or deletes them (see `Store.register_defaults`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

import orjson

from kubenest.api import rbac, rbac_bootstrap
from kubenest.api.clusters import Clusters
from kubenest.store.store import Entry, Store, encode

# A fixed creation time: shared objects look the same in every cluster and across restarts.
CREATED = "2026-01-01T00:00:00Z"
_NS = uuid.UUID("6f1d2c2e-4b9e-4f7e-9a53-6b0c1d6e9a10")


@functools.cache
def _entries(version: str, resource: str) -> dict[tuple[str, str], Entry]:
    out: dict[tuple[str, str], Entry] = {}
    for name, obj in rbac_bootstrap.defaults_for(version).get(resource, {}).items():
        copy = orjson.loads(orjson.dumps(obj))
        meta = copy.setdefault("metadata", {})
        meta["uid"] = str(uuid.uuid5(_NS, f"{version}/{resource}/{name}"))
        meta["creationTimestamp"] = CREATED
        meta["resourceVersion"] = "1"
        out[(meta.get("namespace", ""), name)] = Entry(copy, encode(copy), 1, 0)
    return out


def install(store: Store, clusters: Clusters) -> None:
    """Register the bootstrap RBAC objects of each cluster's version as shared defaults."""

    def source_for(resource: str) -> Callable[[str], dict[tuple[str, str], Entry]]:
        def source(cluster: str) -> dict[tuple[str, str], Entry]:
            c = clusters.get(cluster)
            return _entries(c.version, resource) if c is not None else {}

        return source

    for resource in (rbac.CLUSTER_ROLES, rbac.CLUSTER_ROLE_BINDINGS):
        store.register_defaults(resource, source_for(resource))
