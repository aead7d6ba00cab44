"""kube-apiserver's bootstrap RBAC policy, as data: the default ClusterRoles and ClusterRoleBindings.

Written from `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go` (and its rendered testdata),
limited to the user-facing part of the policy: cluster-admin, admin/edit/view and their
`system:aggregate-to-*` parts, system:basic-user, system:discovery, system:public-info-viewer,
system:monitoring, system:auth-delegator, system:service-account-issuer-discovery, and the
ClusterRoleBindings that give them to system:masters, system:authenticated, system:unauthenticated,
system:monitoring and system:serviceaccounts. The roles of kube's own components (nodes, scheduler,
controller-manager, kube-proxy, controllers) are left out: no such component authenticates here.

Rules are written the way kube stores them: the policy's rule builder sorts verbs, resources,
resourceNames and nonResourceURLs (apiGroups keep their order), and the aggregated roles admin, edit
and view carry the rules kube's aggregation controller writes into them on a fresh cluster.

Every object returned here is shared by every logical cluster of the same version: never mutate one;
deep-copy it before storing a changed private copy.
"""

from __future__ import annotations

import functools
from typing import Any

Obj = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
CLUSTER_ROLES = "clusterroles.rbac.authorization.k8s.io"
CLUSTER_ROLE_BINDINGS = "clusterrolebindings.rbac.authorization.k8s.io"

BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
BOOTSTRAP_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}

AGGREGATE_TO_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin"
AGGREGATE_TO_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit"
AGGREGATE_TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view"

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")
READ_WRITE = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

CORE = ""
APPS = "apps"
AUTHENTICATION = "authentication.k8s.io"
AUTHORIZATION = "authorization.k8s.io"
AUTOSCALING = "autoscaling"
BATCH = "batch"
COORDINATION = "coordination.k8s.io"
DISCOVERY = "discovery.k8s.io"
EXTENSIONS = "extensions"
NETWORKING = "networking.k8s.io"
POLICY = "policy"


def _rule(verbs: tuple[str, ...], groups: tuple[str, ...], resources: tuple[str, ...],
          names: tuple[str, ...] = ()) -> Obj:
    """A resource rule in PolicyRule field order, sorted as kube's rule builder sorts it."""
    out: Obj = {"verbs": sorted(verbs), "apiGroups": list(groups), "resources": sorted(resources)}
    if names:
        out["resourceNames"] = sorted(names)
    return out


def _urls(verbs: tuple[str, ...], urls: tuple[str, ...]) -> Obj:
    """A non-resource rule."""
    return {"verbs": sorted(verbs), "nonResourceURLs": sorted(urls)}


def _minor(version: str) -> int:
    """1.37 -> 37 (every supported version is 1.x)."""
    return int(version.split(".")[1])


def _aggregate_to_admin() -> list[Obj]:
    return [
        _rule(("create",), (AUTHORIZATION,), ("localsubjectaccessreviews",)),
        _rule(READ_WRITE, (RBAC_GROUP,), ("roles", "rolebindings")),
    ]


def _aggregate_to_edit() -> list[Obj]:
    return [
        # Read on the escalating resources view leaves out.
        _rule(READ, (CORE,), ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets",
                              "services/proxy")),
        _rule(("impersonate",), (CORE,), ("serviceaccounts",)),
        _rule(WRITE, (CORE,), ("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward")),
        _rule(("create",), (CORE,), ("pods/eviction",)),
        _rule(WRITE, (CORE,), ("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                               "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets",
                               "events")),
        _rule(("create",), (CORE,), ("serviceaccounts/token",)),
        _rule(WRITE, (APPS,), ("statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                               "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale")),
        _rule(WRITE, (AUTOSCALING,), ("horizontalpodautoscalers",)),
        _rule(WRITE, (BATCH,), ("jobs", "cronjobs")),
        _rule(WRITE, (EXTENSIONS,), ("daemonsets", "deployments", "deployments/scale", "deployments/rollback",
                                     "ingresses", "replicasets", "replicasets/scale",
                                     "replicationcontrollers/scale", "networkpolicies")),
        _rule(WRITE, (POLICY,), ("poddisruptionbudgets",)),
        _rule(WRITE, (NETWORKING,), ("networkpolicies", "ingresses")),
        _rule(READ_WRITE, (COORDINATION,), ("leases",)),
    ]


def _aggregate_to_view() -> list[Obj]:
    return [
        _rule(READ, (CORE,), ("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                              "services", "services/status", "endpoints", "persistentvolumeclaims",
                              "persistentvolumeclaims/status", "configmaps")),
        _rule(READ, (CORE,), ("limitranges", "resourcequotas", "bindings", "events", "pods/status",
                              "resourcequotas/status", "namespaces/status", "replicationcontrollers/status",
                              "pods/log")),
        # Namespaces at namespace scope: read *this* namespace.
        _rule(READ, (CORE,), ("namespaces",)),
        _rule(READ, (DISCOVERY,), ("endpointslices",)),
        _rule(READ, (APPS,), ("controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                              "daemonsets", "daemonsets/status", "deployments", "deployments/status",
                              "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale")),
        _rule(READ, (AUTOSCALING,), ("horizontalpodautoscalers", "horizontalpodautoscalers/status")),
        _rule(READ, (BATCH,), ("jobs", "cronjobs", "cronjobs/status", "jobs/status")),
        _rule(READ, (EXTENSIONS,), ("daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                    "deployments/status", "ingresses", "ingresses/status", "replicasets",
                                    "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
                                    "networkpolicies")),
        _rule(READ, (POLICY,), ("poddisruptionbudgets", "poddisruptionbudgets/status")),
        _rule(READ, (NETWORKING,), ("networkpolicies", "ingresses", "ingresses/status")),
    ]


def _basic_user(minor: int) -> list[Obj]:
    rules = [_rule(("create",), (AUTHORIZATION,), ("selfsubjectaccessreviews", "selfsubjectrulesreviews"))]
    if minor >= 27:  # SelfSubjectReview: beta and on by default from 1.27, GA in 1.28
        rules.append(_rule(("create",), (AUTHENTICATION,), ("selfsubjectreviews",)))
    return rules


def _cluster_role(name: str, rules: list[Obj] | None, labels: dict[str, str] | None = None,
                  aggregate_label: str | None = None) -> Obj:
    """A bootstrap ClusterRole in kube's field order (aggregationRule last, as the Go struct has it)."""
    obj: Obj = {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {**BOOTSTRAP_LABELS, **(labels or {})},
            "annotations": dict(BOOTSTRAP_ANNOTATIONS),
        },
        "rules": rules,
    }
    if aggregate_label is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {aggregate_label: "true"}}]}
    return obj


def _group(name: str) -> Obj:
    return {"kind": "Group", "apiGroup": RBAC_GROUP, "name": name}


def _cluster_binding(role: str, subjects: list[Obj]) -> Obj:
    """A bootstrap ClusterRoleBinding named after its role, as kube's binding builder names it."""
    return {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": role,
            "labels": dict(BOOTSTRAP_LABELS),
            "annotations": dict(BOOTSTRAP_ANNOTATIONS),
        },
        "subjects": subjects,
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
    }


def _cluster_roles(minor: int) -> list[Obj]:
    to_view = _aggregate_to_view()
    to_edit = _aggregate_to_edit()
    to_admin = _aggregate_to_admin()
    # What the aggregation controller writes: per selector, matching roles sorted by name, rules de-duplicated.
    view_rules = list(to_view)
    edit_rules = to_edit + view_rules  # "system:aggregate-to-edit" < "view"
    admin_rules = edit_rules + to_admin  # "edit" < "system:aggregate-to-admin"
    return [
        _cluster_role("cluster-admin", [_rule(("*",), ("*",), ("*",)), _urls(("*",), ("*",))]),
        _cluster_role("system:discovery", [_urls(("get",), (
            "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
            "/api", "/api/*", "/apis", "/apis/*"))]),
        _cluster_role("system:monitoring", [_urls(("get",), (
            "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*"))]),
        _cluster_role("system:basic-user", _basic_user(minor)),
        _cluster_role("system:public-info-viewer", [_urls(("get",), (
            "/livez", "/readyz", "/healthz", "/version", "/version/"))]),
        _cluster_role("admin", admin_rules, aggregate_label=AGGREGATE_TO_ADMIN),
        _cluster_role("edit", edit_rules, {AGGREGATE_TO_ADMIN: "true"}, AGGREGATE_TO_EDIT),
        _cluster_role("view", view_rules, {AGGREGATE_TO_EDIT: "true"}, AGGREGATE_TO_VIEW),
        _cluster_role("system:aggregate-to-admin", to_admin, {AGGREGATE_TO_ADMIN: "true"}),
        _cluster_role("system:aggregate-to-edit", to_edit, {AGGREGATE_TO_EDIT: "true"}),
        _cluster_role("system:aggregate-to-view", to_view, {AGGREGATE_TO_VIEW: "true"}),
        _cluster_role("system:auth-delegator", [
            _rule(("create",), (AUTHENTICATION,), ("tokenreviews",)),
            _rule(("create",), (AUTHORIZATION,), ("subjectaccessreviews",)),
        ]),
        _cluster_role("system:service-account-issuer-discovery", [_urls(("get",), (
            "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
            "/openid/v1/jwks", "/openid/v1/jwks/"))]),
    ]


def _cluster_role_bindings() -> list[Obj]:
    return [
        _cluster_binding("cluster-admin", [_group("system:masters")]),
        _cluster_binding("system:monitoring", [_group("system:monitoring")]),
        _cluster_binding("system:discovery", [_group("system:authenticated")]),
        _cluster_binding("system:basic-user", [_group("system:authenticated")]),
        _cluster_binding("system:public-info-viewer",
                         [_group("system:authenticated"), _group("system:unauthenticated")]),
        _cluster_binding("system:service-account-issuer-discovery", [_group("system:serviceaccounts")]),
    ]


@functools.cache
def bootstrap_objects(version: str) -> list[tuple[str, Obj]]:
    """The default RBAC objects of Kubernetes `version` ("1.37"), as (group_resource, object) pairs.

    The same list and the same dicts are returned on every call for a version: they are shared by
    every logical cluster of that version and must never be mutated.
    """
    minor = _minor(version)
    out: list[tuple[str, Obj]] = [(CLUSTER_ROLES, r) for r in _cluster_roles(minor)]
    out += [(CLUSTER_ROLE_BINDINGS, b) for b in _cluster_role_bindings()]
    return out


@functools.cache
def defaults_for(version: str) -> dict[str, dict[str, Obj]]:
    """{group_resource: {name: object}} of the default RBAC objects of `version` (shared, immutable)."""
    out: dict[str, dict[str, Obj]] = {}
    for gr, obj in bootstrap_objects(version):
        out.setdefault(gr, {})[obj["metadata"]["name"]] = obj
    return out
