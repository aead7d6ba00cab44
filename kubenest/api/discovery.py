"""Discovery documents: legacy (`/api`, `/apis`, `/api/v1`, `/apis/G/V`) and aggregated v2.

Documents depend only on a cluster's resources, so the built-in part is computed once per
Kubernetes version and clusters with CRDs compute theirs on demand.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from kubenest.api.clusters import LogicalCluster
from kubenest.api.resources import ResourceInfo

AGGREGATED_V2 = b"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = b"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def _resource_entries(r: ResourceInfo) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        main["shortNames"] = list(r.short_names)
    if r.categories:
        main["categories"] = list(r.categories)
    main["storageVersionHash"] = _hash(r)
    out = [main]
    for sub in r.subresources:
        entry: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced}
        kind, group, version, verbs = _subresource_shape(r, sub)
        entry["kind"] = kind
        if group is not None:
            entry["group"] = group
            entry["version"] = version
        entry["verbs"] = verbs
        out.append(entry)
    return out


def _subresource_shape(r: ResourceInfo, sub: str) -> tuple[str, str | None, str | None, list[str]]:
    """Kind, group, version and verbs of a subresource as kube lists them."""
    if sub == "status":
        return r.kind, None, None, ["get", "patch", "update"]
    if sub == "scale":
        return "Scale", "autoscaling", "v1", ["get", "patch", "update"]
    if sub == "token":
        return "TokenRequest", "authentication.k8s.io", "v1", ["create"]
    if sub == "eviction":
        return "Eviction", "policy", "v1", ["create"]
    if sub == "binding":
        return "Binding", None, None, ["create"]
    if sub in ("exec", "attach", "portforward"):
        return ("PodExecOptions" if sub == "exec" else "PodAttachOptions" if sub == "attach"
                else "PodPortForwardOptions"), None, None, ["create", "get"]
    if sub == "log":
        return "Pod", None, None, ["get"]
    if sub == "proxy":
        kind = {"Pod": "PodProxyOptions", "Service": "ServiceProxyOptions", "Node": "NodeProxyOptions"}[r.kind]
        return kind, None, None, ["create", "delete", "get", "patch", "update"]
    if sub == "finalize":
        return "Namespace", None, None, ["update"]
    if sub == "approval":
        return r.kind, None, None, ["get", "patch", "update"]
    return r.kind, None, None, ["get", "patch", "update"]


def _hash(r: ResourceInfo) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(f"{r.group}/{r.version}/{r.plural}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def api_versions() -> bytes:
    return orjson.dumps(
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
        }
    )


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def _cached(cluster: LogicalCluster, name: str, build: Any) -> bytes:
    """Built-in-only clusters share one document per version; others build theirs."""
    if cluster.custom:
        return build(cluster)
    return _by_version(cluster.version, name, build, cluster)


_version_cache: dict[tuple[str, str], bytes] = {}


def _by_version(version: str, name: str, build: Any, cluster: LogicalCluster) -> bytes:
    key = (version, name)
    doc = _version_cache.get(key)
    if doc is None:
        doc = _version_cache[key] = build(cluster)
    return doc


def api_group_list(cluster: LogicalCluster) -> bytes:
    def build(c: LogicalCluster) -> bytes:
        groups = [_group_entry(g, vs) for g, vs in c.groups().items() if g]
        return orjson.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    return _cached(cluster, "groups", build)


def api_group(cluster: LogicalCluster, group: str) -> bytes | None:
    versions = cluster.groups().get(group)
    if not versions or not group:
        return None
    return orjson.dumps({"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)})


def resource_list(cluster: LogicalCluster, group: str, version: str) -> bytes | None:
    def build(c: LogicalCluster) -> bytes | None:
        rs = c.resources_in(group, version)
        if not rs:
            return None
        entries = [e for r in rs for e in _resource_entries(r)]
        gv = f"{group}/{version}" if group else version
        return orjson.dumps({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries})

    if cluster.custom:
        return build(cluster)
    key = (cluster.version, f"rl:{group}/{version}")
    if key not in _version_cache:
        doc = build(cluster)
        if doc is None:
            return None
        _version_cache[key] = doc
    return _version_cache[key]


def _aggregated_resource(r: ResourceInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    subs = []
    for sub in r.subresources:
        kind, group, version, verbs = _subresource_shape(r, sub)
        subs.append(
            {
                "subresource": sub,
                "responseKind": {"group": group if group is not None else r.group,
                                 "version": version or r.version, "kind": kind},
                "verbs": verbs,
            }
        )
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(cluster: LogicalCluster, legacy: bool, api_version: str = "apidiscovery.k8s.io/v2") -> bytes:
    """APIGroupDiscoveryList for `/api` (legacy=True) or `/apis`."""

    def build(c: LogicalCluster) -> bytes:
        items = []
        for group, versions in c.groups().items():
            if legacy != (group == ""):
                continue
            vlist = []
            for v in versions:
                vlist.append(
                    {
                        "version": v,
                        "resources": [_aggregated_resource(r) for r in c.resources_in(group, v)],
                        "freshness": "Current",
                    }
                )
            items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": vlist})
        return orjson.dumps(
            {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}
        )

    return _cached(cluster, f"agg:{legacy}:{api_version}", build)


@functools.cache
def version_info(version: str) -> bytes:
    minor = version.split(".")[1]
    return orjson.dumps(
        {
            "major": "1",
            "minor": minor,
            "emulationMajor": "1",
            "emulationMinor": minor,
            "minCompatibilityMajor": "1",
            "minCompatibilityMinor": str(int(minor) - 1),
            "gitVersion": f"v{version}.0+kubenest",
            "gitCommit": "kubenest",
            "gitTreeState": "clean",
            "buildDate": "2026-11-29T00:00:00Z",
            "goVersion": "python",
            "compiler": "cpython",
            "platform": "linux/amd64",
        }
    )
