"""Per-kind behaviour plugged into the generic registry, in the spirit of kube's RESTCreateStrategy.

The registry (`kubenest.api.registry`) implements create, update, patch, delete and watch once;
a `Strategy` adds what differs between kinds: defaults, validation, what a status update may
change, and a few kind-specific touches (cluster IPs, namespace phase). A new kind needs at most a
small subclass registered in `STRATEGIES`.
"""

from __future__ import annotations

import base64
import ipaddress
import random
from collections.abc import Hashable
from typing import Any

from kubenest.api import defaults, validation
from kubenest.api.errors import ApiError, bad_request, invalid
from kubenest.api.resources import ResourceInfo
from kubenest.api.schema import identity

Obj = dict[str, Any]

# Top-level fields that are not "spec" for generation purposes.
_NON_SPEC = {"metadata", "status", "apiVersion", "kind"}
# Kinds whose objects carry no spec/status split and no generation.
_NO_GENERATION_KINDS = {"ConfigMap", "Secret", "Event", "Endpoints", "EndpointSlice", "ServiceAccount",
                        "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Lease", "ControllerRevision",
                        "Namespace", "Node", "Pod", "Service", "PersistentVolume", "PersistentVolumeClaim"}


class Strategy:
    """Default behaviour: schema defaults and validation, spec/status split when the kind has status."""

    def default_propagation(self) -> str | None:
        """Deletion propagation when the request names none (None: background)."""
        return None

    def grace_period(self, obj: Obj, requested: int | None) -> int | None:
        """Seconds of graceful deletion (kube's CheckGracefulDelete); None: the kind deletes at once."""
        return None

    def uses_generation(self, r: ResourceInfo) -> bool:
        return r.is_custom or ("status" in r.subresources and r.kind not in _NO_GENERATION_KINDS)

    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        """Set defaults on a new object (before validation)."""
        if r.is_custom:
            assert r.crd_schema is not None
            validation.crd_prune(obj, r.crd_schema)
            validation.crd_default(obj, r.crd_schema)
        else:
            defaults.apply_defaults(r.group, r.version, r.kind, obj, kube_version=ctx.cluster.version)

    def begin_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        """Allocate what a new object gets last, after validation and admission (kube's BeginCreate)."""

    def prepare_for_update(self, r: ResourceInfo, new: Obj, old: Obj, ctx: Any) -> None:
        if r.is_custom:
            assert r.crd_schema is not None
            validation.crd_prune(new, r.crd_schema)
            validation.crd_default(new, r.crd_schema)
        else:
            defaults.apply_defaults(r.group, r.version, r.kind, new, kube_version=ctx.cluster.version, create=False)

    def validate(self, r: ResourceInfo, obj: Obj, old: Obj | None, ctx: Any) -> list[dict[str, Any]]:
        # Core's finalizer-name rule applies to kinds served by kube-apiserver itself, not by
        # apiextensions-apiserver (CRDs and custom resources).
        builtin = not r.is_custom and r.group != "apiextensions.k8s.io"
        rule = "dns1123subdomain" if r.is_custom else validation.name_rule(r.kind, r.group)
        errs = validation.validate_object_meta(obj, r.namespaced, rule, old=old, builtin=builtin)
        if r.is_custom:
            # Custom resources are checked against their schema after defaulting; built-ins were
            # checked for decodability (`decode_check`) before it.
            assert r.crd_schema is not None
            errs += validation.validate_schema(obj, r.crd_schema, identity, old=old)
        else:
            errs += validation.validate_builtin(obj, r.kind, r.group, old)
        return errs

    def decode_check(self, r: ResourceInfo, obj: Obj, ctx: Any, of: Hashable | None = None) -> None:
        """Refuse a built-in object kube could not decode into its Go type (400), before defaulting.
        `of`: the object's shape, when the caller has it (kubenest.api.shapes)."""
        if r.is_custom or r.definition is None:
            return
        node, resolve = schema_of(r, ctx.cluster)
        if node is not None:
            check(validation.decode_errors(obj, node, resolve, of=of), r, obj)

    def after_read_status(self, new: Obj, old: Obj) -> Obj:
        """A status write changes only status (and nothing in metadata but what kube allows)."""
        out = dict(old)
        if "status" in new:
            out["status"] = new["status"]
        else:
            out.pop("status", None)
        meta = dict(old["metadata"])
        out["metadata"] = meta
        return out


def schema_of(r: ResourceInfo, cluster: Any) -> tuple[dict[str, Any] | None, Any]:
    """The top-level schema node of a resource in `cluster` and the resolver that goes with it."""
    if r.crd_schema is not None:
        return r.crd_schema, identity
    if r.definition is None:
        return None, identity
    schemas = cluster.schemas
    return schemas.defs[r.definition], schemas.resolve


class NamespaceStrategy(Strategy):
    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        super().prepare_for_create(r, obj, ctx)
        meta = obj["metadata"]
        meta["labels"] = dict(meta.get("labels") or {}, **{"kubernetes.io/metadata.name": meta.get("name", "")})
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}

    def prepare_for_update(self, r: ResourceInfo, new: Obj, old: Obj, ctx: Any) -> None:
        super().prepare_for_update(r, new, old, ctx)
        labels = new["metadata"].get("labels") or {}
        labels["kubernetes.io/metadata.name"] = new["metadata"]["name"]
        new["metadata"]["labels"] = labels
        # spec.finalizers change only through /finalize; status only through /status.
        new["spec"] = old.get("spec", {})
        new["status"] = old.get("status", {})


class ServiceStrategy(Strategy):
    """Allocates a cluster IP from 10.96.0.0/12, unique within the service's logical cluster.

    Allocation is the last step of a create (`begin_create`, as kube's allocators run in BeginCreate), so
    admission and the registry's `begin_create` hooks see the address the user asked for, or none: the
    syncer of a virtual cluster puts the host Service's address there first, and this only checks it.
    """

    NET = ipaddress.ip_network("10.96.0.0/12")

    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        super().prepare_for_create(r, obj, ctx)
        spec = obj.setdefault("spec", {})
        if spec.get("type") != "ExternalName" and spec.get("clusterIP") == "None":
            spec["clusterIPs"] = ["None"]

    def begin_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        spec = obj.setdefault("spec", {})
        ip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName" or ip == "None":
            return
        used = {e.obj.get("spec", {}).get("clusterIP") for e in ctx.store.entries(ctx.cluster.name, "services")}
        if ip:
            if ip in used:
                detail = f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: provided IP is already allocated'
                name = obj["metadata"].get("name", "")
                raise invalid("Service", "", name,
                              [{"type": "FieldValueInvalid", "field": "spec.clusterIPs", "message": detail}],
                              f'Service "{name}" is invalid: spec.clusterIPs: {detail}')
        else:
            if not used:
                # The first address is kube's `kubernetes` service; users start after it.
                used = {"10.96.0.1"}
            rnd = random.Random()
            size = self.NET.num_addresses
            while True:
                cand = str(self.NET.network_address + rnd.randrange(2, size - 1))
                if cand not in used:
                    ip = cand
                    break
            spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def prepare_for_update(self, r: ResourceInfo, new: Obj, old: Obj, ctx: Any) -> None:
        super().prepare_for_update(r, new, old, ctx)
        spec, old_spec = new.setdefault("spec", {}), old.get("spec", {})
        for f in ("clusterIP", "clusterIPs"):
            if f in old_spec and not spec.get(f):
                spec[f] = old_spec[f]


class PodStrategy(Strategy):
    def grace_period(self, obj: Obj, requested: int | None) -> int | None:
        """The request's grace period, else the pod's; 0 for a pod no node runs or one already finished."""
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        period = requested if requested is not None else spec.get("terminationGracePeriodSeconds")
        if not isinstance(period, int) or not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        return max(period, 0)

    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        super().prepare_for_create(r, obj, ctx)
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", _qos_class(obj.get("spec", {})))


def _qos_class(spec: Obj) -> str:
    requests_all, limits_all, any_set = True, True, False
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for k in ("cpu", "memory"):
            if k not in lim:
                limits_all = False
            elif k in req and str(req[k]) != str(lim[k]):
                requests_all = False
    if not any_set:
        return "BestEffort"
    if limits_all and requests_all:
        return "Guaranteed"
    return "Burstable"


class JobStrategy(Strategy):
    """Jobs get a generated selector and pod labels unless `spec.manualSelector` is true.

    As kube's job strategy: the template gains `batch.kubernetes.io/job-name`, `job-name`,
    `batch.kubernetes.io/controller-uid` and `controller-uid` (the user's values win, and validation
    rejects a conflict), and the selector matches `batch.kubernetes.io/controller-uid`, so pods of
    this Job and no other are selected.
    """

    def default_propagation(self) -> str | None:
        # batch/v1 Jobs orphan their pods by default, for compatibility; kubectl asks for Background.
        return "Orphan"

    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        super().prepare_for_create(r, obj, ctx)
        spec = obj.get("spec")
        if not isinstance(spec, dict) or spec.get("manualSelector") is True:
            return
        meta = obj["metadata"]
        name, uid = meta.get("name", ""), meta.get("uid", "")
        template = spec.get("template")
        if not isinstance(template, dict):
            template = spec["template"] = {}
        tmeta = template.get("metadata")
        if not isinstance(tmeta, dict):
            tmeta = template["metadata"] = {}
        labels = tmeta.get("labels")
        if not isinstance(labels, dict):
            labels = {}
        # The batch.kubernetes.io/ labels came in 1.27; older clusters select on controller-uid.
        prefixed = _minor(ctx.cluster.version) >= 27
        uid_label = "batch.kubernetes.io/controller-uid" if prefixed else "controller-uid"
        generated = [("job-name", name), ("controller-uid", uid)]
        if prefixed:
            generated += [("batch.kubernetes.io/job-name", name), ("batch.kubernetes.io/controller-uid", uid)]
        for key, value in generated:
            labels.setdefault(key, value)
        tmeta["labels"] = dict(sorted(labels.items()))
        if not meta.get("labels"):
            # kube defaults a Job's labels from its template when it reads the stored object back.
            meta["labels"] = dict(tmeta["labels"])
        selector = spec.get("selector")
        if not isinstance(selector, dict):
            selector = spec["selector"] = {}
        match = selector.get("matchLabels")
        if not isinstance(match, dict):
            match = selector["matchLabels"] = {}
        match.setdefault(uid_label, uid)


def _minor(version: str) -> int:
    try:
        return int(version.split(".")[1])
    except (IndexError, ValueError):
        return 0


class DeploymentStrategy(Strategy):
    def after_read_status(self, new: Obj, old: Obj) -> Obj:
        """As kube's deployment status strategy, a status write may change annotations too: the
        deployment controller records `deployment.kubernetes.io/revision` through /status."""
        out = super().after_read_status(new, old)
        annotations = (new.get("metadata") or {}).get("annotations")
        if annotations:
            out["metadata"]["annotations"] = annotations
        else:
            out["metadata"].pop("annotations", None)
        return out


class DaemonSetStrategy(Strategy):
    """kube's DaemonSet strategy keeps a template generation, which apps/v1 shows as the
    `deprecated.daemonset.template.generation` annotation: the value given on create (at least 1),
    one more on each template change, and clients cannot change it. The DaemonSet controller labels
    pods with it (`pod-template-generation`)."""

    ANNOTATION = "deprecated.daemonset.template.generation"

    def _generation(self, obj: Obj) -> int:
        try:
            return int(((obj.get("metadata") or {}).get("annotations") or {}).get(self.ANNOTATION, 0))
        except (TypeError, ValueError):
            return 0

    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        super().prepare_for_create(r, obj, ctx)
        meta = obj["metadata"]
        meta["annotations"] = dict(meta.get("annotations") or {}, **{self.ANNOTATION: str(max(self._generation(obj), 1))})

    def prepare_for_update(self, r: ResourceInfo, new: Obj, old: Obj, ctx: Any) -> None:
        super().prepare_for_update(r, new, old, ctx)
        generation = self._generation(old)
        if (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
            generation += 1
        annotations = dict(new["metadata"].get("annotations") or {})
        if generation:
            annotations[self.ANNOTATION] = str(generation)
        else:
            annotations.pop(self.ANNOTATION, None)
        if annotations:
            new["metadata"]["annotations"] = annotations
        else:
            new["metadata"].pop("annotations", None)


class SecretStrategy(Strategy):
    """`stringData` is write-only: merged into `data` (base64, taking precedence), never stored."""

    @staticmethod
    def _merge_string_data(obj: Obj) -> None:
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = obj.get("data")
            obj["data"] = {**(data if isinstance(data, dict) else {}), **{k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()}}

    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        super().prepare_for_create(r, obj, ctx)
        self._merge_string_data(obj)

    def prepare_for_update(self, r: ResourceInfo, new: Obj, old: Obj, ctx: Any) -> None:
        super().prepare_for_update(r, new, old, ctx)
        self._merge_string_data(new)


class CrdStrategy(Strategy):
    def prepare_for_create(self, r: ResourceInfo, obj: Obj, ctx: Any) -> None:
        super().prepare_for_create(r, obj, ctx)
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if "customresourcecleanup.apiextensions.k8s.io" not in finalizers:
            finalizers.append("customresourcecleanup.apiextensions.k8s.io")
        obj["status"] = {"conditions": [], "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": []}


DEFAULT = Strategy()
STRATEGIES: dict[tuple[str, str], Strategy] = {
    ("", "Namespace"): NamespaceStrategy(),
    ("", "Service"): ServiceStrategy(),
    ("", "Pod"): PodStrategy(),
    ("", "Secret"): SecretStrategy(),
    ("apps", "Deployment"): DeploymentStrategy(),
    ("batch", "Job"): JobStrategy(),
    ("apps", "DaemonSet"): DaemonSetStrategy(),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): CrdStrategy(),
}


def for_resource(r: ResourceInfo) -> Strategy:
    return STRATEGIES.get((r.group, r.kind), DEFAULT)


def check(errors: list[dict[str, Any]], r: ResourceInfo, obj: Obj) -> None:
    """Raise kube's 400 for undecodable input, else its 422 Invalid, for a non-empty error list."""
    if not errors:
        return
    decode = validation.decode_error_message(r.kind, r.version, errors)
    if decode is not None:
        raise bad_request(decode)
    name = (obj.get("metadata") or {}).get("name", "") or ""
    raise invalid(r.kind, r.group, name, errors, validation.invalid_message(
        r.kind if not r.group else f"{r.kind}.{r.group}", name, errors))


__all__ = ["ApiError", "Strategy", "for_resource", "check", "schema_of"]
