"""The API surface of a Kubernetes version: which resources exist and how they are addressed.

Schemas say which group/version/kinds exist; they do not say a kind's plural, scope, short names,
categories, verbs or subresources. That part is the table below, written from what `kubectl
api-resources` prints on a real cluster. `ApiSurface.for_version` combines both; custom resources
add `ResourceInfo` entries per cluster at run time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from kubenest.api import schema

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)


@dataclass(frozen=True)
class ScaleInfo:
    spec_replicas: str = ".spec.replicas"
    status_replicas: str = ".status.replicas"
    label_selector: str | None = ".status.selector"


@dataclass
class ResourceInfo:
    """One served resource (group, version, plural) and how the API treats it."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    scale: ScaleInfo | None = None
    # Schema access: for built-ins, the version's definitions; for CRs, the CRD's openAPIV3Schema.
    definition: str | None = None
    crd_schema: dict[str, Any] | None = None
    preserve_unknown: bool = False
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    # Where the object is stored: built-in kinds share storage across served versions by group/plural.
    storage_group: str = ""

    def __post_init__(self) -> None:
        if not self.singular:
            self.singular = self.kind.lower()
        if not self.storage_group:
            self.storage_group = self.group

    # Asked on every request: worked out once (the fields they derive from are never changed).
    @functools.cached_property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @functools.cached_property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @functools.cached_property
    def is_custom(self) -> bool:
        return self.crd_schema is not None

    @functools.cached_property
    def has_status(self) -> bool:
        return "status" in self.subresources


# kind -> (short names, categories, subresources). Scope and plural follow from the kind unless in
# the exceptions below. Written from `kubectl api-resources -o wide` on Kubernetes 1.33+.
_ALL = ("all",)
_EXT = ("api-extensions",)
_KNOWN: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    ("", "Binding"): ((), (), ()),
    ("", "ComponentStatus"): (("cs",), (), ()),
    ("", "ConfigMap"): (("cm",), (), ()),
    ("", "Endpoints"): (("ep",), (), ()),
    ("", "Event"): (("ev",), (), ()),
    ("", "LimitRange"): (("limits",), (), ()),
    ("", "Namespace"): (("ns",), (), ("status", "finalize")),
    ("", "Node"): (("no",), (), ("status", "proxy")),
    ("", "PersistentVolumeClaim"): (("pvc",), (), ("status",)),
    ("", "PersistentVolume"): (("pv",), (), ("status",)),
    ("", "Pod"): (
        ("po",),
        _ALL,
        ("status", "log", "exec", "attach", "portforward", "proxy", "binding", "eviction",
         "ephemeralcontainers", "resize"),
    ),
    ("", "PodTemplate"): ((), (), ()),
    ("", "ReplicationController"): (("rc",), _ALL, ("status", "scale")),
    ("", "ResourceQuota"): (("quota",), (), ("status",)),
    ("", "Secret"): ((), (), ()),
    ("", "ServiceAccount"): (("sa",), (), ("token",)),
    ("", "Service"): (("svc",), _ALL, ("status", "proxy")),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): ((), _EXT, ()),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): ((), _EXT, ()),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): ((), _EXT, ("status",)),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): ((), _EXT, ()),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"): ((), _EXT, ()),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"): ((), _EXT, ()),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (("crd", "crds"), _EXT, ("status",)),
    ("apiregistration.k8s.io", "APIService"): ((), _EXT, ("status",)),
    ("apps", "ControllerRevision"): ((), (), ()),
    ("apps", "DaemonSet"): (("ds",), _ALL, ("status",)),
    ("apps", "Deployment"): (("deploy",), _ALL, ("status", "scale")),
    ("apps", "ReplicaSet"): (("rs",), _ALL, ("status", "scale")),
    ("apps", "StatefulSet"): (("sts",), _ALL, ("status", "scale")),
    ("autoscaling", "HorizontalPodAutoscaler"): (("hpa",), _ALL, ("status",)),
    ("batch", "CronJob"): (("cj",), _ALL, ("status",)),
    ("batch", "Job"): ((), _ALL, ("status",)),
    ("certificates.k8s.io", "CertificateSigningRequest"): (("csr",), (), ("status", "approval")),
    ("events.k8s.io", "Event"): (("ev",), (), ()),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"): ((), (), ("status",)),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"): ((), (), ("status",)),
    ("networking.k8s.io", "Ingress"): (("ing",), (), ("status",)),
    ("networking.k8s.io", "NetworkPolicy"): (("netpol",), (), ()),
    ("networking.k8s.io", "IPAddress"): (("ip",), (), ()),
    ("networking.k8s.io", "ServiceCIDR"): ((), (), ("status",)),
    ("policy", "PodDisruptionBudget"): (("pdb",), (), ("status",)),
    ("scheduling.k8s.io", "PriorityClass"): (("pc",), (), ()),
    ("storage.k8s.io", "StorageClass"): (("sc",), (), ()),
    ("storage.k8s.io", "VolumeAttachment"): ((), (), ("status",)),
    ("storage.k8s.io", "VolumeAttributesClass"): (("vac",), (), ()),
    ("resource.k8s.io", "ResourceClaim"): ((), (), ("status",)),
    ("resource.k8s.io", "DeviceTaintRule"): ((), (), ("status",)),
    ("storagemigration.k8s.io", "StorageVersionMigration"): ((), (), ("status",)),
}

_CLUSTER_SCOPED = {
    ("", "ComponentStatus"), ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "TokenReview"), ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("networking.k8s.io", "IngressClass"), ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"), ("resource.k8s.io", "ResourceSlice"),
    ("resource.k8s.io", "DeviceTaintRule"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"), ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"), ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
}

# Kinds served as subresources or not served at all (schemas still define them).
_NOT_RESOURCES = {
    ("", "Status"), ("autoscaling", "Scale"), ("policy", "Eviction"), ("authentication.k8s.io", "TokenRequest"),
}

_CREATE_ONLY = {
    ("", "Binding"), ("authentication.k8s.io", "TokenReview"), ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "LocalSubjectAccessReview"), ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"), ("authorization.k8s.io", "SubjectAccessReview"),
}

_PLURALS = {"Endpoints": "endpoints"}

_STABILITY_ORDER = {"": 3}


def plural_of(kind: str) -> str:
    """The plural Kubernetes uses for a built-in kind."""
    if kind in _PLURALS:
        return _PLURALS[kind]
    low = kind.lower()
    if low.endswith("s"):
        return low + "es"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key of kube's version priority: GA > beta > alpha, higher numbers first (ascending key)."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor)


def is_stable(version: str) -> bool:
    return version_priority(version)[0] == 0


class ApiSurface:
    """Resources of one Kubernetes version (built-ins only; CRDs are layered per cluster)."""

    def __init__(self, schemas: schema.Schemas) -> None:
        self.schemas = schemas
        self.resources: list[ResourceInfo] = []
        by_group_kind: dict[tuple[str, str], list[str]] = {}
        for (group, version, kind), defname in schemas.gvk_index.items():
            node = schemas.defs[defname]
            if kind.endswith("List") or "metadata" not in node.get("properties", {}):
                continue
            if (group, kind) in _NOT_RESOURCES:
                continue
            by_group_kind.setdefault((group, kind), []).append(version)
        for (group, kind), versions in by_group_kind.items():
            # Serve the stable versions; a kind with no stable version serves its best beta (kube
            # enables no alpha API by default).
            versions.sort(key=version_priority)
            served = [v for v in versions if is_stable(v)]
            if not served:
                best = versions[0]
                if version_priority(best)[0] != 1:
                    continue
                served = [best]
            # Only one version per kind: kubenest does not convert between versions.
            self.resources.append(self._builtin(group, served[0], kind))
        self.resources.sort(key=lambda r: (r.group != "", r.group, r.plural))
        self.by_gvr: dict[tuple[str, str, str], ResourceInfo] = {
            (r.group, r.version, r.plural): r for r in self.resources
        }
        self.by_gk: dict[tuple[str, str], ResourceInfo] = {(r.group, r.kind): r for r in self.resources}
        self.by_key: dict[str, ResourceInfo] = {r.group_resource: r for r in self.resources}

    def _builtin(self, group: str, version: str, kind: str) -> ResourceInfo:
        short, cats, subs = _KNOWN.get((group, kind), ((), (), ()))
        verbs: tuple[str, ...] = ALL_VERBS
        if (group, kind) in _CREATE_ONLY:
            verbs = CREATE_ONLY
        elif kind == "ComponentStatus":
            verbs = ("get", "list")
        elif (group, kind) == ("", "Namespace"):
            verbs = tuple(v for v in ALL_VERBS if v != "deletecollection")
        scale = ScaleInfo() if "scale" in subs else None
        if kind == "ReplicationController":
            scale = ScaleInfo(label_selector=None)
        return ResourceInfo(
            group=group,
            version=version,
            kind=kind,
            plural=plural_of(kind),
            namespaced=(group, kind) not in _CLUSTER_SCOPED,
            short_names=short,
            categories=cats,
            verbs=verbs,
            subresources=subs,
            scale=scale,
            definition=self.schemas.definition_name(group, version, kind),
        )

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first."""
        out: dict[str, list[str]] = {}
        for r in self.resources:
            vs = out.setdefault(r.group, [])
            if r.version not in vs:
                vs.append(r.version)
        for vs in out.values():
            vs.sort(key=version_priority)
        return out


@functools.cache
def surface(version: str) -> ApiSurface:
    """The built-in API surface of Kubernetes `version`, shared by all clusters of that version."""
    return ApiSurface(schema.load(version))
