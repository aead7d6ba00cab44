"""VirtualCluster (kubenest.io/v1alpha1): the management object behind every virtual cluster.

Served by the root cluster like a custom resource (schema, printer columns, status subresource),
with a strategy for what a schema cannot say (reserved names, versions) and a controller that makes
the logical cluster, gives its owner cluster-admin, publishes a kubeconfig Secret and reports status.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import orjson

from kubenest.api import schema, validation
from kubenest.api.clusters import ROOT, ClusterError, Clusters, LogicalCluster, now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.api.resources import ResourceInfo
from kubenest.api.strategy import STRATEGIES, Strategy
from kubenest.controllers import podutil
from kubenest.controllers.client import Client
from kubenest.controllers.runtime import Controller, Key
from kubenest.host import HOST_CLUSTER
from kubenest.server.tokens import TokenIssuer

log = logging.getLogger("kubenest.platform")

GROUP = "kubenest.io"
VERSION = "v1alpha1"
KIND = "VirtualCluster"
RESOURCE = "virtualclusters.kubenest.io"
FINALIZER = "kubenest.io/virtual-cluster"
SYSTEM_NAMESPACE = "kubenest-system"
OWNER_BINDING = "kubenest-owner"

_QUANTITY: dict[str, Any] = {"x-kubernetes-int-or-string": True}  # quantities: checked by the strategy

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A virtual Kubernetes cluster served by kubenest.",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "description": "What the virtual cluster should be.",
            "properties": {
                "kubernetesVersion": {
                    "type": "string",
                    "description": "Kubernetes version of the cluster's API, 1.25 to 1.37.",
                    "default": schema.DEFAULT_VERSION,
                    "enum": list(schema.SUPPORTED_VERSIONS),
                },
                "owner": {"type": "string", "description": "User who owns the cluster; gets cluster-admin in it."},
                "quota": {
                    "type": "object",
                    "description": "A ResourceQuota on the cluster's host namespace: caps what all its pods, "
                                   "services and claims together may use on the host.",
                    "properties": {
                        "hard": {
                            "type": "object",
                            "description": "Like ResourceQuota spec.hard, e.g. {pods: 100, requests.cpu: 8}.",
                            "additionalProperties": _QUANTITY,
                        },
                    },
                },
                "limitRange": {
                    "type": "object",
                    "description": "A LimitRange on the cluster's host namespace: defaults and bounds of each "
                                   "host pod's containers.",
                    "properties": {
                        "limits": {
                            "type": "array",
                            "description": "Like LimitRange spec.limits.",
                            "items": {
                                "type": "object",
                                "required": ["type"],
                                "properties": {
                                    "type": {"type": "string", "enum": ["Container", "Pod",
                                                                         "PersistentVolumeClaim"]},
                                    **{k: {"type": "object", "additionalProperties": _QUANTITY}
                                       for k in ("max", "min", "default", "defaultRequest",
                                                 "maxLimitRequestRatio")},
                                },
                            },
                        },
                    },
                },
            },
            "x-kubernetes-preserve-unknown-fields": True,
        },
        "status": {
            "type": "object",
            "properties": {
                "phase": {"type": "string", "enum": ["Pending", "Ready", "Deleting", "Failed"]},
                "endpoint": {"type": "string"},
                "kubernetesVersion": {"type": "string"},
                "createdAt": {"type": "string", "format": "date-time"},
                "kubeconfigSecret": {"type": "string"},
                "message": {"type": "string"},
                "conditions": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    "items": {
                        "type": "object",
                        "required": ["type", "status"],
                        "properties": {
                            "type": {"type": "string"},
                            "status": {"type": "string"},
                            "reason": {"type": "string"},
                            "message": {"type": "string"},
                            "lastTransitionTime": {"type": "string", "format": "date-time"},
                        },
                    },
                },
            },
        },
    },
}

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Version", "type": "string", "jsonPath": ".status.kubernetesVersion"},
    {"name": "Owner", "type": "string", "jsonPath": ".spec.owner"},
    {"name": "Endpoint", "type": "string", "jsonPath": ".status.endpoint", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def resource_info() -> ResourceInfo:
    return ResourceInfo(group=GROUP, version=VERSION, kind=KIND, plural="virtualclusters", singular="virtualcluster",
                        namespaced=False, short_names=("vc",), categories=("kubenest",), subresources=("status",),
                        crd_schema=SCHEMA, printer_columns=PRINTER_COLUMNS)


def install(root: LogicalCluster) -> None:
    """Serve the platform kinds in the root cluster."""
    r = resource_info()
    key = (r.group, r.version, r.plural)
    root.platform = {key: r}
    root.custom = {**(root.custom or {}), key: r}


class VirtualClusterStrategy(Strategy):
    """Names are cluster names: DNS-1123 labels, never `root`; the version is fixed at creation."""

    def prepare_for_create(self, r: ResourceInfo, obj: dict[str, Any], ctx: Any) -> None:
        if obj.get("spec") is None:
            obj["spec"] = {}  # before defaulting, so spec.kubernetesVersion gets its default now
        super().prepare_for_create(r, obj, ctx)
        meta = obj["metadata"]
        finalizers = meta.setdefault("finalizers", [])
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        spec = obj["spec"]
        if isinstance(spec, dict) and not spec.get("owner") and ctx.user is not None:
            spec["owner"] = ctx.user.name  # the creator owns the cluster
        obj["status"] = {"phase": "Pending"}

    def validate(self, r: ResourceInfo, obj: dict[str, Any], old: dict[str, Any] | None,
                 ctx: Any) -> list[dict[str, Any]]:
        # The name becomes a cluster name in URLs: a DNS-1123 label, not just a subdomain.
        errs = [e for e in super().validate(r, obj, old, ctx) if e.get("field") != "metadata.name"]
        name = obj["metadata"].get("name", "")
        for msg in validation.name_errors(name, "dns1123label"):
            errs.append({"type": "FieldValueInvalid", "field": "metadata.name", "value": name,
                         "message": f'Invalid value: "{name}": {msg}', "detail": msg})
        if old is None and (name in (ROOT, HOST_CLUSTER) or name.startswith("_")):
            errs.append({"type": "FieldValueForbidden", "field": "metadata.name", "value": name,
                         "message": f'Forbidden: "{name}" is reserved for kubenest\'s own clusters',
                         "detail": f'"{name}" is reserved for kubenest\'s own clusters'})
        errs += _quantity_errors(obj.get("spec"))
        if old is not None:
            before = (old.get("spec") or {}).get("kubernetesVersion") or schema.DEFAULT_VERSION
            after = (obj.get("spec") or {}).get("kubernetesVersion") or schema.DEFAULT_VERSION
            if before != after:
                errs.append({"type": "FieldValueInvalid", "field": "spec.kubernetesVersion", "value": after,
                             "message": f'Invalid value: "{after}": field is immutable',
                             "detail": "field is immutable"})
        return errs


def _quantity_errors(spec: Any) -> list[dict[str, Any]]:
    """spec.quota.hard and spec.limitRange.limits[*] values must be quantities (as in kube's objects)."""
    if not isinstance(spec, dict):
        return []
    maps: list[tuple[str, Any]] = [("spec.quota.hard", (spec.get("quota") or {}).get("hard")
                                    if isinstance(spec.get("quota"), dict) else None)]
    limits = (spec.get("limitRange") or {}).get("limits") if isinstance(spec.get("limitRange"), dict) else None
    for i, item in enumerate(limits if isinstance(limits, list) else ()):
        if isinstance(item, dict):
            maps += [(f"spec.limitRange.limits[{i}].{k}", item.get(k)) for k in
                     ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")]
    errs = []
    for path, values in maps:
        for key, value in (values or {}).items() if isinstance(values, dict) else ():
            try:
                validation.parse_quantity(value)
            except ValueError as e:
                field = f"{path}[{key}]"
                errs.append({"type": "FieldValueInvalid", "field": field, "value": value,
                             "message": f"Invalid value: {value!r}: {e}", "detail": str(e)})
    return errs


STRATEGIES[(GROUP, KIND)] = VirtualClusterStrategy()


class VirtualClusterController(Controller):
    """Makes and removes the logical cluster of each VirtualCluster and reports its state."""

    name = "virtualcluster"
    primary = RESOURCE

    def __init__(self, client: Client, clusters: Clusters, issuer: TokenIssuer, base_url: Any,
                 ca_pem: bytes) -> None:
        super().__init__(client)
        self.clusters = clusters
        self.issuer = issuer
        self.base_url = base_url  # callable: cluster name -> server URL (the port is known after start)
        self.ca_pem = ca_pem

    def keys_for(self, ev: Any) -> Any:
        if ev.cluster == ROOT and ev.resource == RESOURCE:
            yield (ev.cluster, ev.namespace, ev.name)

    async def reconcile(self, key: Key) -> None:
        _, _, name = key
        vc = self.client.get(ROOT, RESOURCE, "", name)
        if vc is None:
            return
        if vc["metadata"].get("deletionTimestamp"):
            await self._delete(vc)
            return
        version = (vc.get("spec") or {}).get("kubernetesVersion") or schema.DEFAULT_VERSION
        owner = (vc.get("spec") or {}).get("owner") or "kubernetes-admin"  # set at creation; kept for old objects
        cluster = self.clusters.get(name)
        if cluster is None:
            try:
                cluster = await self.clusters.create(name, version)
            except ClusterError as e:
                await self._status(vc, {"phase": "Failed", "message": str(e)})
                return
            await self._bootstrap(name, owner)
        secret_name = await self._publish_kubeconfig(vc, owner)
        status = {
            "phase": "Ready",
            "endpoint": self.base_url(name),
            "kubernetesVersion": cluster.version,
            "createdAt": vc["metadata"].get("creationTimestamp", now_rfc3339()),
            "kubeconfigSecret": f"{SYSTEM_NAMESPACE}/{secret_name}",
        }
        await self._status(vc, status)

    async def _bootstrap(self, cluster: str, owner: str) -> None:
        """The owner's cluster-admin binding: a real object the owner can see and change."""
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": OWNER_BINDING, "labels": {"kubenest.io/owner": "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": owner}],
        }
        try:
            await self.client.create(cluster, binding)
        except ApiError as e:
            if e.code != 409:
                raise

    async def _publish_kubeconfig(self, vc: dict[str, Any], owner: str) -> str:
        """A Secret `vc-<name>` in kubenest-system of the root cluster with the owner's kubeconfig."""
        name = vc["metadata"]["name"]
        secret_name = f"vc-{name}"
        server = self.base_url(name)
        existing = self.client.get(ROOT, "secrets", SYSTEM_NAMESPACE, secret_name)
        if existing is not None:
            current = base64.b64decode((existing.get("data") or {}).get("config", ""))
            if f'"server":"{server}"'.encode() in current:
                return secret_name
            await self.client.delete(ROOT, existing)  # the server moved (new port): publish a fresh one
        if self.client.get(ROOT, "namespaces", "", SYSTEM_NAMESPACE) is None:
            try:
                await self.client.create(ROOT, {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": SYSTEM_NAMESPACE}})
            except ApiError as e:
                if e.code != 409:
                    raise
        token, _ = self.issuer.issue(name, owner, ("system:authenticated",))
        config = kubeconfig(name, server, self.ca_pem, owner, token)
        secret = {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": secret_name, "namespace": SYSTEM_NAMESPACE,
                         "labels": {"kubenest.io/virtual-cluster": name},
                         "ownerReferences": [dict(podutil.owner_reference(vc), blockOwnerDeletion=False)]},
            # JSON is YAML: kubectl reads it, and it is much cheaper to write than YAML.
            "data": {"config": _b64(orjson.dumps(config)), "token": _b64(token.encode())},
        }
        try:
            await self.client.create(ROOT, secret)
        except ApiError as e:
            if e.code != 409:
                raise
        return secret_name

    async def _status(self, vc: dict[str, Any], status: dict[str, Any]) -> None:
        now = now_rfc3339()
        new = dict(vc.get("status") or {}, **status)
        ready = status.get("phase") == "Ready"
        podutil.set_condition(new, {"type": "Ready", "status": "True" if ready else "False",
                                    "reason": "ClusterReady" if ready else status.get("phase", "Pending"),
                                    "message": status.get("message", "the virtual cluster serves requests"
                                                          if ready else ""),
                                    "lastTransitionTime": now})
        if new == vc.get("status"):
            return
        upd = self.client.copy(vc)
        upd["status"] = new
        await self.client.update_status(ROOT, upd)

    async def _delete(self, vc: dict[str, Any]) -> None:
        name = vc["metadata"]["name"]
        if (vc.get("status") or {}).get("phase") != "Deleting":
            await self._status(vc, {"phase": "Deleting", "message": "deleting the cluster's objects"})
            vc = self.client.get(ROOT, RESOURCE, "", name) or vc
        if self.clusters.get(name) is not None:
            await self.clusters.delete(name)
        secret = self.client.get(ROOT, "secrets", SYSTEM_NAMESPACE, f"vc-{name}")
        if secret is not None:
            await self.client.delete(ROOT, secret)
        upd = self.client.copy(vc)
        upd["metadata"]["finalizers"] = [f for f in upd["metadata"].get("finalizers") or () if f != FINALIZER]
        await self.client.update(ROOT, upd)


def kubeconfig(cluster: str, server: str, ca_pem: bytes, user: str, token: str,
               context: str | None = None) -> dict[str, Any]:
    """A kubeconfig with one context for `cluster`, named like vcluster names its contexts."""
    ctx = context or f"kubenest_{cluster}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": ctx, "cluster": {"server": server,
                                               "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": ctx, "user": {"token": token}}],
        "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx, "namespace": "default"}}],
        "current-context": ctx,
        "preferences": {},
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
