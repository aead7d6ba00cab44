"""RBAC authorization as kube-apiserver decides it: bindings, rule matching, aggregation, the bootstrap
policy shared by every cluster, overrides and tombstones of defaults, rules reviews and Forbidden text."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kubenest.api import rbac
from kubenest.api.rbac import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    ROLES,
    TOMBSTONES,
    Attributes,
    RbacAuthorizer,
    access_review_status,
    aggregation_updates,
    attributes_for,
    attributes_from_review_spec,
    bootstrap_objects,
    defaults_for,
    effective_objects,
    forbidden_error,
    forbidden_message,
    tombstone_object,
    user_from_review_spec,
)
from kubenest.api.request import Request, User
from kubenest.api.resources import ResourceInfo
from kubenest.store.backend import MemoryBackend
from kubenest.store.store import Store

Obj = dict[str, Any]
AUTHENTICATED = "system:authenticated"


@dataclass
class FakeCluster:
    name: str
    version: str = "1.37"
    uid: str = "uid-1"


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store(MemoryBackend())
    yield s
    s.close()


@pytest.fixture
def authz(store: Store) -> Iterator[RbacAuthorizer]:
    a = RbacAuthorizer(store)
    yield a
    a.close()


C = FakeCluster("c1")


def user(name: str, *groups: str) -> User:
    return User(name, (AUTHENTICATED, *groups))


def sa(namespace: str, name: str) -> User:
    return User(f"system:serviceaccount:{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED))


def res(u: User, verb: str, resource: str, namespace: str = "", group: str = "", sub: str = "",
        name: str = "") -> Attributes:
    return Attributes(u, verb, namespace, group, resource, sub, name)


def path(u: User, verb: str, p: str) -> Attributes:
    return Attributes(u, verb, path=p, resource_request=False)


def rule(verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None) -> Obj:
    out: Obj = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    if names:
        out["resourceNames"] = names
    return out


def cluster_role(name: str, rules: list[Obj], labels: dict[str, str] | None = None,
                 selectors: list[Obj] | None = None) -> Obj:
    obj: Obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name, "labels": labels or {}}, "rules": rules}
    if selectors is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return obj


def role(namespace: str, name: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": namespace}, "rules": rules}


def subject(kind: str, name: str, namespace: str = "") -> Obj:
    s: Obj = {"kind": kind, "name": name}
    if kind != "ServiceAccount":
        s["apiGroup"] = "rbac.authorization.k8s.io"
    if namespace:
        s["namespace"] = namespace
    return s


def binding(name: str, ref_kind: str, ref_name: str, subjects: list[Obj], namespace: str = "") -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
            "metadata": meta, "subjects": subjects,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name}}


async def put(store: Store, resource: str, obj: Obj, cluster: str = "c1") -> None:
    meta = obj["metadata"]
    await store.create(cluster, resource, meta.get("namespace", ""), meta["name"], copy.deepcopy(obj))


async def grant(store: Store, name: str, rules: list[Obj], subjects: list[Obj], namespace: str = "") -> None:
    """A ClusterRole (or Role, with a namespace) and a binding of it, both called `name`."""
    if namespace:
        await put(store, ROLES, role(namespace, name, rules))
        await put(store, ROLE_BINDINGS, binding(name, "Role", name, subjects, namespace))
    else:
        await put(store, CLUSTER_ROLES, cluster_role(name, rules))
        await put(store, CLUSTER_ROLE_BINDINGS, binding(name, "ClusterRole", name, subjects))


def allowed(a: RbacAuthorizer, attrs: Attributes, cluster: FakeCluster = C) -> bool:
    return a.check(cluster, attrs)[0]


# -- subjects and bindings ----------------------------------------------------------------------


def test_masters_group_is_allowed_everything_with_no_reason(authz: RbacAuthorizer) -> None:
    admin = User("admin", ("system:masters", AUTHENTICATED))
    assert authz.check(C, res(admin, "delete", "nodes", name="n1")) == (True, "")
    assert authz.check(C, path(admin, "post", "/anything")) == (True, "")


def test_user_without_bindings_is_denied_with_empty_reason(authz: RbacAuthorizer) -> None:
    assert authz.check(C, res(user("bob"), "list", "pods", "default")) == (False, "")


async def test_cluster_role_binding_to_user_allows_with_kubes_reason(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "pod-reader", [rule(["get", "list"], [""], ["pods"])], [subject("User", "bob")])
    assert authz.check(C, res(user("bob"), "list", "pods", "ns1")) == (
        True, 'RBAC: allowed by ClusterRoleBinding "pod-reader" of ClusterRole "pod-reader" to User "bob"')
    assert authz.check(C, res(user("bob"), "list", "pods")) == (
        True, 'RBAC: allowed by ClusterRoleBinding "pod-reader" of ClusterRole "pod-reader" to User "bob"')
    assert not allowed(authz, res(user("bob"), "delete", "pods", "ns1", name="p"))
    assert not allowed(authz, res(user("alice"), "list", "pods", "ns1"))


async def test_group_subject_applies_to_members_only(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "cm", [rule(["get"], [""], ["configmaps"])], [subject("Group", "devs")])
    attrs = res(user("carol", "devs"), "get", "configmaps", "ns", name="x")
    assert authz.check(C, attrs) == (
        True, 'RBAC: allowed by ClusterRoleBinding "cm" of ClusterRole "cm" to Group "devs"')
    assert not allowed(authz, res(user("dave", "ops"), "get", "configmaps", "ns", name="x"))


async def test_reason_names_the_first_subject_that_applies(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "cm", [rule(["get"], [""], ["configmaps"])],
                [subject("Group", "ops"), subject("User", "erin"), subject("Group", "devs")])
    assert authz.check(C, res(user("erin", "devs"), "get", "configmaps", "ns"))[1].endswith('to User "erin"')


async def test_service_account_subject_in_rolebinding_defaults_to_binding_namespace(
        store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "deployer", [rule(["create"], ["apps"], ["deployments"])],
                [subject("ServiceAccount", "builder")], namespace="team")
    assert authz.check(C, res(sa("team", "builder"), "create", "deployments", "team", "apps")) == (
        True, 'RBAC: allowed by RoleBinding "deployer/team" of Role "deployer" to ServiceAccount "builder/team"')
    assert not allowed(authz, res(sa("other", "builder"), "create", "deployments", "team", "apps"))
    assert not allowed(authz, res(sa("team", "builder"), "create", "deployments", "other", "apps"))


async def test_service_account_subject_with_explicit_namespace(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "reader", [rule(["list"], [""], ["pods"])],
                [subject("ServiceAccount", "mon", "monitoring")])
    assert authz.check(C, res(sa("monitoring", "mon"), "list", "pods"))[1] == (
        'RBAC: allowed by ClusterRoleBinding "reader" of ClusterRole "reader" to ServiceAccount "mon/monitoring"')
    assert not allowed(authz, res(user("system:serviceaccount:monitoring:other"), "list", "pods"))


async def test_service_account_without_namespace_never_applies_in_cluster_binding(
        store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "reader", [rule(["list"], [""], ["pods"])], [subject("ServiceAccount", "mon")])
    assert not allowed(authz, res(sa("default", "mon"), "list", "pods"))
    assert not allowed(authz, res(User("system:serviceaccount::mon"), "list", "pods"))


async def test_service_account_groups_can_be_bound(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "team-sas", [rule(["get"], [""], ["secrets"])],
                [subject("Group", "system:serviceaccounts:team")])
    assert allowed(authz, res(sa("team", "any"), "get", "secrets", "x", name="s"))
    assert not allowed(authz, res(sa("other", "any"), "get", "secrets", "x", name="s"))


async def test_rolebinding_grants_only_inside_its_namespace(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "pods", [rule(["list"], [""], ["pods"])], [subject("User", "bob")], namespace="ns1")
    assert allowed(authz, res(user("bob"), "list", "pods", "ns1"))
    assert not allowed(authz, res(user("bob"), "list", "pods", "ns2"))
    assert not allowed(authz, res(user("bob"), "list", "pods"))  # all namespaces


async def test_rolebinding_to_clusterrole_grants_its_rules_in_the_namespace(
        store: Store, authz: RbacAuthorizer) -> None:
    await put(store, CLUSTER_ROLES, cluster_role("secret-reader", [rule(["get"], [""], ["secrets"])]))
    await put(store, ROLE_BINDINGS, binding("read", "ClusterRole", "secret-reader", [subject("User", "bob")], "ns1"))
    assert authz.check(C, res(user("bob"), "get", "secrets", "ns1", name="s")) == (
        True, 'RBAC: allowed by RoleBinding "read/ns1" of ClusterRole "secret-reader" to User "bob"')
    assert not allowed(authz, res(user("bob"), "get", "secrets", "ns2", name="s"))


async def test_rolebinding_cannot_use_role_of_another_namespace(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, ROLES, role("ns2", "r", [rule(["get"], [""], ["pods"])]))
    await put(store, ROLE_BINDINGS, binding("b", "Role", "r", [subject("User", "bob")], "ns1"))
    assert authz.check(C, res(user("bob"), "get", "pods", "ns1", name="p")) == (
        False, 'RBAC: role.rbac.authorization.k8s.io "r" not found')


async def test_missing_roles_are_reported_in_the_denial_reason(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, CLUSTER_ROLE_BINDINGS, binding("b1", "ClusterRole", "gone", [subject("User", "bob")]))
    assert authz.check(C, res(user("bob"), "get", "pods", "ns", name="p")) == (
        False, 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found')
    await put(store, CLUSTER_ROLE_BINDINGS, binding("b2", "ClusterRole", "gone", [subject("User", "bob")]))
    await put(store, CLUSTER_ROLE_BINDINGS, binding("b3", "ClusterRole", "lost", [subject("User", "bob")]))
    assert authz.check(C, res(user("bob"), "get", "pods", "ns", name="p"))[1] == (
        'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, '
        'clusterrole.rbac.authorization.k8s.io "lost" not found]')


async def test_allowing_binding_wins_over_broken_ones(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, CLUSTER_ROLE_BINDINGS, binding("a-broken", "ClusterRole", "gone", [subject("User", "bob")]))
    await grant(store, "z-ok", [rule(["get"], [""], ["pods"])], [subject("User", "bob")])
    assert authz.check(C, res(user("bob"), "get", "pods", "ns", name="p"))[0]


# -- rule matching ------------------------------------------------------------------------------


async def test_subresources_need_their_own_rule(store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob")
    await grant(store, "pods", [rule(["get"], [""], ["pods"])], [subject("User", "bob")])
    assert allowed(authz, res(bob, "get", "pods", "ns", name="p"))
    assert not allowed(authz, res(bob, "get", "pods", "ns", sub="log", name="p"))
    await grant(store, "logs", [rule(["get"], [""], ["pods/log"])], [subject("User", "bob")])
    assert allowed(authz, res(bob, "get", "pods", "ns", sub="log", name="p"))
    assert not allowed(authz, res(bob, "get", "pods", "ns", sub="exec", name="p"))


async def test_star_slash_subresource_matches_that_subresource_of_any_resource(
        store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob")
    await grant(store, "scaler", [rule(["update"], ["*"], ["*/scale"])], [subject("User", "bob")])
    assert allowed(authz, res(bob, "update", "deployments", "ns", "apps", "scale", "d"))
    assert allowed(authz, res(bob, "update", "replicationcontrollers", "ns", "", "scale", "rc"))
    assert not allowed(authz, res(bob, "update", "deployments", "ns", "apps", name="d"))
    assert not allowed(authz, res(bob, "update", "deployments", "ns", "apps", "status", "d"))


async def test_star_resource_matches_resources_and_subresources(store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob")
    await grant(store, "core", [rule(["get"], [""], ["*"])], [subject("User", "bob")])
    assert allowed(authz, res(bob, "get", "pods", "ns", sub="log", name="p"))
    assert allowed(authz, res(bob, "get", "secrets", "ns", name="s"))
    assert not allowed(authz, res(bob, "get", "deployments", "ns", "apps", name="d"))  # group still matters


async def test_verb_and_group_wildcards(store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob")
    await grant(store, "all-deploys", [rule(["*"], ["*"], ["deployments"])], [subject("User", "bob")])
    assert allowed(authz, res(bob, "deletecollection", "deployments", "ns", "apps"))
    assert allowed(authz, res(bob, "patch", "deployments", "ns", "extensions", name="d"))
    assert not allowed(authz, res(bob, "get", "statefulsets", "ns", "apps", name="s"))


async def test_empty_rule_lists_match_nothing(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "empty", [rule([], ["*"], ["*"]), rule(["*"], [], ["*"]), rule(["*"], ["*"], [])],
                [subject("User", "bob")])
    assert not allowed(authz, res(user("bob"), "get", "pods", "ns", name="p"))


async def test_resource_names_restrict_named_requests_only(store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob")
    await grant(store, "one-cm", [rule(["get", "list", "update"], [""], ["configmaps"], ["app-config"])],
                [subject("User", "bob")], namespace="ns")
    assert allowed(authz, res(bob, "get", "configmaps", "ns", name="app-config"))
    assert allowed(authz, res(bob, "update", "configmaps", "ns", name="app-config"))
    assert not allowed(authz, res(bob, "get", "configmaps", "ns", name="other"))
    assert not allowed(authz, res(bob, "list", "configmaps", "ns"))  # a list has no name


async def test_non_resource_urls_exact_prefix_and_star(store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob")
    rules = [{"verbs": ["get"], "nonResourceURLs": ["/metrics", "/logs/*"]}]
    await grant(store, "urls", rules, [subject("User", "bob")])
    assert allowed(authz, path(bob, "get", "/metrics"))
    assert not allowed(authz, path(bob, "get", "/metrics/extra"))
    assert allowed(authz, path(bob, "get", "/logs/kube.log"))
    assert not allowed(authz, path(bob, "get", "/logs"))  # the prefix keeps its slash
    assert not allowed(authz, path(bob, "post", "/metrics"))
    await grant(store, "all-urls", [{"verbs": ["post"], "nonResourceURLs": ["*"]}], [subject("User", "bob")])
    assert allowed(authz, path(bob, "post", "/anything/at/all"))


async def test_non_resource_rules_and_resource_rules_do_not_cross(store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob", "g")
    await grant(store, "urls", [{"verbs": ["*"], "nonResourceURLs": ["*"]}], [subject("User", "bob")])
    assert not allowed(authz, res(bob, "get", "pods", "ns", name="p"))
    await grant(store, "res", [rule(["*"], ["*"], ["*"])], [subject("Group", "g")])
    assert allowed(authz, res(bob, "get", "pods", "ns", name="p"))
    assert not allowed(authz, path(User("eve", ("g",)), "get", "/healthz"))


async def test_authorize_path_checks_a_non_resource_request(store: Store, authz: RbacAuthorizer) -> None:
    assert authz.authorize_path(user("bob"), C, "get", "/apis") == (
        True, 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" '
              'to Group "system:authenticated"')
    assert authz.authorize_path(user("bob"), C, "get", "/metrics") == (False, "")


# -- aggregation --------------------------------------------------------------------------------


async def test_aggregated_role_has_the_union_of_selected_roles(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, CLUSTER_ROLES, cluster_role("monitoring", [], selectors=[
        {"matchLabels": {"example.com/aggregate-to-monitoring": "true"}}]))
    await put(store, CLUSTER_ROLES, cluster_role("mon-pods", [rule(["get"], [""], ["pods"])],
                                                 {"example.com/aggregate-to-monitoring": "true"}))
    await put(store, CLUSTER_ROLES, cluster_role("mon-nodes", [rule(["list"], [""], ["nodes"])],
                                                 {"example.com/aggregate-to-monitoring": "true"}))
    await put(store, CLUSTER_ROLES, cluster_role("unrelated", [rule(["get"], [""], ["secrets"])]))
    await put(store, CLUSTER_ROLE_BINDINGS, binding("mon", "ClusterRole", "monitoring", [subject("User", "m")]))
    m = user("m")
    assert allowed(authz, res(m, "get", "pods", "ns", name="p"))
    assert allowed(authz, res(m, "list", "nodes"))
    assert not allowed(authz, res(m, "get", "secrets", "ns", name="s"))


async def test_aggregation_with_match_expressions(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, CLUSTER_ROLES, cluster_role("agg", [], selectors=[
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}]))
    await put(store, CLUSTER_ROLES, cluster_role("ra", [rule(["get"], [""], ["pods"])], {"tier": "a"}))
    await put(store, CLUSTER_ROLES, cluster_role("rc", [rule(["get"], [""], ["secrets"])], {"tier": "c"}))
    await put(store, CLUSTER_ROLE_BINDINGS, binding("agg", "ClusterRole", "agg", [subject("User", "u")]))
    assert allowed(authz, res(user("u"), "get", "pods", "ns", name="p"))
    assert not allowed(authz, res(user("u"), "get", "secrets", "ns", name="s"))


async def test_crd_role_labelled_aggregate_to_view_reaches_view_edit_and_admin(
        store: Store, authz: RbacAuthorizer) -> None:
    for who, r in (("v", "view"), ("e", "edit"), ("a", "admin")):
        await put(store, ROLE_BINDINGS, binding(f"{who}-b", "ClusterRole", r, [subject("User", who)], "ns"))
    crontabs = res(user("v"), "list", "crontabs", "ns", "stable.example.com")
    assert not allowed(authz, crontabs)
    await put(store, CLUSTER_ROLES, cluster_role(
        "crontab-view", [rule(["get", "list", "watch"], ["stable.example.com"], ["crontabs"])],
        {"rbac.authorization.k8s.io/aggregate-to-view": "true"}))
    for who in ("v", "e", "a"):
        assert allowed(authz, res(user(who), "list", "crontabs", "ns", "stable.example.com")), who


async def test_aggregation_updates_lists_the_roles_kubes_controller_would_rewrite(store: Store) -> None:
    assert aggregation_updates(store, "c1", "1.37") == []
    extra = rule(["get"], ["stable.example.com"], ["crontabs"])
    await put(store, CLUSTER_ROLES, cluster_role("crontab-view", [extra],
                                                 {"rbac.authorization.k8s.io/aggregate-to-view": "true"}))
    updates = dict(aggregation_updates(store, "c1", "1.37"))
    assert sorted(updates) == ["admin", "edit", "view"]
    defaults = defaults_for("1.37")[CLUSTER_ROLES]
    # Matching roles are taken in name order: "crontab-view" before "system:aggregate-to-view".
    assert updates["view"] == [extra] + defaults["view"]["rules"]
    assert extra in updates["edit"] and extra in updates["admin"]
    assert updates["admin"][-2:] == defaults["system:aggregate-to-admin"]["rules"]


async def test_aggregation_cycle_terminates(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, CLUSTER_ROLES, cluster_role("a", [rule(["get"], [""], ["pods"])], {"x": "1"},
                                                 [{"matchLabels": {"y": "1"}}]))
    await put(store, CLUSTER_ROLES, cluster_role("b", [rule(["get"], [""], ["secrets"])], {"y": "1"},
                                                 [{"matchLabels": {"x": "1"}}]))
    await put(store, CLUSTER_ROLE_BINDINGS, binding("a", "ClusterRole", "a", [subject("User", "u")]))
    assert allowed(authz, res(user("u"), "get", "pods", "ns", name="p"))


# -- default (bootstrap) policy -----------------------------------------------------------------


def test_bootstrap_objects_are_shared_and_labelled_as_kube_labels_them() -> None:
    objs = bootstrap_objects("1.37")
    assert objs is bootstrap_objects("1.37")
    names = {(gr, o["metadata"]["name"]) for gr, o in objs}
    for n in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
              "system:public-info-viewer", "system:aggregate-to-admin", "system:aggregate-to-edit",
              "system:aggregate-to-view"):
        assert (CLUSTER_ROLES, n) in names
    for n in ("cluster-admin", "system:basic-user", "system:discovery", "system:public-info-viewer"):
        assert (CLUSTER_ROLE_BINDINGS, n) in names
    for _, o in objs:
        assert o["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert o["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    roles = defaults_for("1.37")[CLUSTER_ROLES]
    assert roles["view"]["aggregationRule"] == {
        "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]}
    assert roles["view"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert roles["edit"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert roles["cluster-admin"]["rules"] == [
        {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]}]
    crb = defaults_for("1.37")[CLUSTER_ROLE_BINDINGS]["cluster-admin"]
    assert crb["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:masters"}]
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}


def test_basic_user_gains_selfsubjectreviews_from_1_27() -> None:
    def resources(version: str) -> list[str]:
        rules = defaults_for(version)[CLUSTER_ROLES]["system:basic-user"]["rules"]
        return [r for rule_ in rules for r in rule_["resources"]]

    assert "selfsubjectreviews" not in resources("1.26")
    assert "selfsubjectreviews" in resources("1.27")
    assert resources("1.37") == ["selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"]


async def test_defaults_apply_without_being_copied_into_the_store(store: Store, authz: RbacAuthorizer) -> None:
    assert allowed(authz, res(user("anyone"), "create", "selfsubjectaccessreviews", group="authorization.k8s.io"))
    assert allowed(authz, res(user("anyone"), "create", "selfsubjectreviews", group="authentication.k8s.io"))
    assert allowed(authz, path(user("anyone"), "get", "/version"))
    assert allowed(authz, path(user("anyone"), "get", "/apis/apps/v1"))
    assert store.count("c1", CLUSTER_ROLES) == 0 and store.count("c1", CLUSTER_ROLE_BINDINGS) == 0


def test_unauthenticated_users_see_only_public_info(authz: RbacAuthorizer) -> None:
    anon = User("system:anonymous", ("system:unauthenticated",))
    assert allowed(authz, path(anon, "get", "/version"))
    assert allowed(authz, path(anon, "get", "/healthz"))
    assert not allowed(authz, path(anon, "get", "/apis"))
    assert not allowed(authz, res(anon, "create", "selfsubjectaccessreviews", group="authorization.k8s.io"))


async def test_view_reads_workloads_but_not_secrets(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, ROLE_BINDINGS, binding("v", "ClusterRole", "view", [subject("User", "viewer")], "ns"))
    v = user("viewer")
    assert allowed(authz, res(v, "list", "pods", "ns"))
    assert allowed(authz, res(v, "get", "pods", "ns", sub="log", name="p"))
    assert allowed(authz, res(v, "watch", "deployments", "ns", "apps"))
    assert allowed(authz, res(v, "get", "namespaces", "ns", name="ns"))
    assert not allowed(authz, res(v, "list", "secrets", "ns"))
    assert not allowed(authz, res(v, "get", "secrets", "ns", name="s"))
    assert not allowed(authz, res(v, "create", "pods", "ns"))
    assert not allowed(authz, res(v, "create", "pods", "ns", sub="exec", name="p"))
    assert not allowed(authz, res(v, "list", "pods", "other"))
    assert authz.check(C, res(v, "list", "pods", "ns"))[1] == (
        'RBAC: allowed by RoleBinding "v/ns" of ClusterRole "view" to User "viewer"')


async def test_edit_writes_workloads_but_not_rbac(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, ROLE_BINDINGS, binding("e", "ClusterRole", "edit", [subject("User", "editor")], "ns"))
    e = user("editor")
    assert allowed(authz, res(e, "create", "deployments", "ns", "apps"))
    assert allowed(authz, res(e, "patch", "deployments", "ns", "apps", "scale", "d"))
    assert allowed(authz, res(e, "create", "pods", "ns", sub="exec", name="p"))
    assert allowed(authz, res(e, "list", "secrets", "ns"))
    assert allowed(authz, res(e, "create", "leases", "ns", "coordination.k8s.io"))
    assert allowed(authz, res(e, "list", "pods", "ns"))  # view's rules, aggregated into edit
    assert not allowed(authz, res(e, "create", "roles", "ns", "rbac.authorization.k8s.io"))
    assert not allowed(authz, res(e, "create", "rolebindings", "ns", "rbac.authorization.k8s.io"))
    assert not allowed(authz, res(e, "update", "resourcequotas", "ns", name="q"))


async def test_admin_manages_roles_in_its_namespace_only(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, ROLE_BINDINGS, binding("a", "ClusterRole", "admin", [subject("User", "nsadmin")], "ns"))
    a = user("nsadmin")
    assert allowed(authz, res(a, "create", "roles", "ns", "rbac.authorization.k8s.io"))
    assert allowed(authz, res(a, "delete", "rolebindings", "ns", "rbac.authorization.k8s.io", name="b"))
    assert allowed(authz, res(a, "create", "localsubjectaccessreviews", "ns", "authorization.k8s.io"))
    assert allowed(authz, res(a, "create", "deployments", "ns", "apps"))
    assert not allowed(authz, res(a, "create", "roles", "other", "rbac.authorization.k8s.io"))
    assert not allowed(authz, res(a, "create", "clusterroles", "", "rbac.authorization.k8s.io"))
    assert not allowed(authz, res(a, "delete", "namespaces", "ns", name="ns"))


async def test_cluster_admin_binding_allows_everything(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, CLUSTER_ROLE_BINDINGS, binding("root", "ClusterRole", "cluster-admin", [subject("User", "root")]))
    r = user("root")
    assert allowed(authz, res(r, "delete", "nodes", name="n"))
    assert allowed(authz, res(r, "escalate", "clusterroles", group="rbac.authorization.k8s.io"))
    assert allowed(authz, res(r, "get", "widgets", "ns", "example.com", "status", "w"))
    assert allowed(authz, path(r, "put", "/debug/flags/v"))


# -- overrides and tombstones of defaults ------------------------------------------------------


async def test_stored_object_overrides_the_shared_default(store: Store, authz: RbacAuthorizer) -> None:
    await put(store, ROLE_BINDINGS, binding("v", "ClusterRole", "system:aggregate-to-view",
                                            [subject("User", "viewer")], "ns"))
    assert allowed(authz, res(user("viewer"), "list", "pods", "ns"))
    mine = copy.deepcopy(defaults_for("1.37")[CLUSTER_ROLES]["system:aggregate-to-view"])
    mine["rules"] = [rule(["list"], [""], ["configmaps"])]
    await put(store, CLUSTER_ROLES, mine)
    assert not allowed(authz, res(user("viewer"), "list", "pods", "ns"))
    assert allowed(authz, res(user("viewer"), "list", "configmaps", "ns"))
    # The private copy changed only this cluster; the shared default is untouched.
    other = FakeCluster("c2")
    await put(store, ROLE_BINDINGS, binding("v", "ClusterRole", "view", [subject("User", "viewer")], "ns"), "c2")
    assert allowed(authz, res(user("viewer"), "list", "pods", "ns"), other)
    assert "pods" in defaults_for("1.37")[CLUSTER_ROLES]["system:aggregate-to-view"]["rules"][0]["resources"]


async def test_tombstone_hides_a_default_binding(store: Store, authz: RbacAuthorizer) -> None:
    ssar = res(user("bob"), "create", "selfsubjectaccessreviews", group="authorization.k8s.io")
    assert allowed(authz, ssar)
    await store.create("c1", TOMBSTONES, CLUSTER_ROLE_BINDINGS, "system:basic-user",
                       tombstone_object(CLUSTER_ROLE_BINDINGS, "system:basic-user"))
    assert not allowed(authz, ssar)
    assert "system:basic-user" not in effective_objects(store, "c1", "1.37", CLUSTER_ROLE_BINDINGS)
    assert "system:discovery" in effective_objects(store, "c1", "1.37", CLUSTER_ROLE_BINDINGS)
    # Other clusters still have it.
    assert allowed(authz, ssar, FakeCluster("c2"))


async def test_tombstoned_role_makes_its_bindings_report_not_found(store: Store, authz: RbacAuthorizer) -> None:
    await store.create("c1", TOMBSTONES, CLUSTER_ROLES, "system:discovery",
                       tombstone_object(CLUSTER_ROLES, "system:discovery"))
    assert authz.check(C, path(user("bob"), "get", "/apis")) == (
        False, 'RBAC: clusterrole.rbac.authorization.k8s.io "system:discovery" not found')


async def test_masters_keep_access_when_cluster_admin_binding_is_deleted(
        store: Store, authz: RbacAuthorizer) -> None:
    await store.create("c1", TOMBSTONES, CLUSTER_ROLE_BINDINGS, "cluster-admin",
                       tombstone_object(CLUSTER_ROLE_BINDINGS, "cluster-admin"))
    assert allowed(authz, res(User("admin", ("system:masters",)), "delete", "nodes", name="n"))


async def test_effective_objects_merges_defaults_and_stored_sorted_by_name(store: Store) -> None:
    await put(store, CLUSTER_ROLES, cluster_role("aaa-mine", []))
    mine = cluster_role("view", [])
    await put(store, CLUSTER_ROLES, mine)
    roles = effective_objects(store, "c1", "1.37", CLUSTER_ROLES)
    assert list(roles) == sorted(roles)
    assert roles["aaa-mine"]["metadata"]["name"] == "aaa-mine"
    assert roles["view"]["rules"] == [] and roles["edit"] is defaults_for("1.37")[CLUSTER_ROLES]["edit"]


# -- caching and invalidation -------------------------------------------------------------------


async def test_store_writes_invalidate_cached_decisions(store: Store, authz: RbacAuthorizer) -> None:
    bob = user("bob")
    attrs = res(bob, "list", "pods", "ns")
    assert not allowed(authz, attrs)
    assert not allowed(authz, attrs)  # now cached
    await grant(store, "pods", [rule(["list"], [""], ["pods"])], [subject("User", "bob")])
    assert allowed(authz, attrs)
    await store.delete("c1", CLUSTER_ROLE_BINDINGS, "", "pods")
    assert not allowed(authz, attrs)


async def test_role_change_reaches_existing_bindings(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "r", [rule(["get"], [""], ["pods"])], [subject("User", "bob")], namespace="ns")
    assert not allowed(authz, res(user("bob"), "get", "secrets", "ns", name="s"))
    new = role("ns", "r", [rule(["get"], [""], ["secrets"])])
    await store.update("c1", ROLES, "ns", "r", new)
    assert allowed(authz, res(user("bob"), "get", "secrets", "ns", name="s"))


async def test_writes_in_one_cluster_do_not_leak_into_another(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "pods", [rule(["list"], [""], ["pods"])], [subject("User", "bob")])
    assert allowed(authz, res(user("bob"), "list", "pods", "ns"))
    assert not allowed(authz, res(user("bob"), "list", "pods", "ns"), FakeCluster("c2"))


async def test_invalidate_and_a_new_cluster_uid_drop_a_stale_policy(store: Store, authz: RbacAuthorizer) -> None:
    # Without its store watch (as for a cluster deleted with no per-object events) the authorizer
    # keeps its compiled policy until told.
    authz.close()
    assert not allowed(authz, res(user("bob"), "list", "pods", "ns"))
    await grant(store, "pods", [rule(["list"], [""], ["pods"])], [subject("User", "bob")])
    assert not allowed(authz, res(user("bob"), "list", "pods", "ns"))
    authz.invalidate("c1")
    assert allowed(authz, res(user("bob"), "list", "pods", "ns"))
    await store.delete("c1", CLUSTER_ROLE_BINDINGS, "", "pods")
    assert allowed(authz, res(user("bob"), "list", "pods", "ns"))
    # The same name with a new uid is a new cluster: its policy is compiled afresh.
    assert not allowed(authz, res(user("bob"), "list", "pods", "ns"), FakeCluster("c1", uid="uid-2"))


# -- request attributes -------------------------------------------------------------------------


def _request(resource: ResourceInfo, verb: str, namespace: str, name: str, sub: str = "") -> Request:
    return Request("GET", verb, C, resource, namespace, name, sub, {}, {}, user("bob"))  # type: ignore[arg-type]


async def test_namespace_object_requests_are_in_that_namespace(store: Store, authz: RbacAuthorizer) -> None:
    namespaces = ResourceInfo(group="", version="v1", kind="Namespace", plural="namespaces", namespaced=False)
    req = _request(namespaces, "get", "", "team")
    assert attributes_for(req).namespace == "team"
    assert attributes_for(_request(namespaces, "list", "", "")).namespace == ""
    await put(store, ROLE_BINDINGS, binding("v", "ClusterRole", "view", [subject("User", "bob")], "team"))
    assert authz.authorize(req)[0]
    assert not authz.authorize(_request(namespaces, "get", "", "other"))[0]


def test_attributes_for_carries_group_resource_and_subresource() -> None:
    deployments = ResourceInfo(group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True)
    a = attributes_for(_request(deployments, "update", "ns", "web", "scale"))
    assert (a.verb, a.api_group, a.resource, a.subresource, a.namespace, a.name) == (
        "update", "apps", "deployments", "scale", "ns", "web")


def test_review_spec_attributes_and_user_are_taken_as_given() -> None:
    spec = {"user": "bob", "groups": ["devs"], "uid": "1", "extra": {"k": ["v"]},
            "resourceAttributes": {"namespace": "ns", "verb": "get", "group": "apps",
                                   "resource": "deployments", "subresource": "scale", "name": "web"}}
    u = user_from_review_spec(spec)
    assert (u.name, u.groups, u.uid, u.extra) == ("bob", ("devs",), "1", {"k": ["v"]})
    a = attributes_from_review_spec(u, spec)
    assert (a.namespace, a.verb, a.api_group, a.resource, a.subresource, a.name, a.resource_request) == (
        "ns", "get", "apps", "deployments", "scale", "web", True)
    n = attributes_from_review_spec(u, {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}})
    assert (n.path, n.verb, n.resource_request) == ("/healthz", "get", False)


async def test_review_spec_user_without_authenticated_group_gets_no_default_grants(
        authz: RbacAuthorizer) -> None:
    u = user_from_review_spec({"user": "bob"})
    assert not allowed(authz, attributes_from_review_spec(u, {"nonResourceAttributes": {"path": "/apis",
                                                                                         "verb": "get"}}))


# -- rules reviews ------------------------------------------------------------------------------


async def test_rules_for_lists_rules_in_kubes_shape(store: Store, authz: RbacAuthorizer) -> None:
    await grant(store, "cm", [rule(["get"], [""], ["configmaps"], ["one"])], [subject("User", "bob")],
                namespace="ns")
    resource_rules, non_resource_rules, incomplete = authz.rules_for(user("bob"), C, "ns")
    assert incomplete is False
    # ClusterRoleBindings first (sorted by name: basic-user, discovery, public-info-viewer), then RoleBindings.
    assert resource_rules == [
        {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
         "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
        {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
        {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["one"]},
    ]
    assert non_resource_rules[0] == {"verbs": ["get"], "nonResourceURLs": [
        "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
        "/version", "/version/"]}
    assert non_resource_rules[1] == {"verbs": ["get"], "nonResourceURLs": [
        "/healthz", "/livez", "/readyz", "/version", "/version/"]}
    assert len(non_resource_rules) == 2
    # Another namespace: only the cluster-wide rules.
    assert len(authz.rules_for(user("bob"), C, "other")[0]) == 2


async def test_rules_for_cluster_admin_and_evaluation_error(store: Store, authz: RbacAuthorizer) -> None:
    admin = User("admin", ("system:masters", AUTHENTICATED))
    resource_rules, non_resource_rules, _ = authz.rules_for(admin, C, "default")
    assert resource_rules[0] == {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    assert non_resource_rules[0] == {"verbs": ["*"], "nonResourceURLs": ["*"]}
    await put(store, ROLE_BINDINGS, binding("b", "Role", "missing", [subject("User", "bob")], "ns"))
    status = authz.rules_review_status(user("bob"), C, "ns")
    assert status["evaluationError"] == 'role.rbac.authorization.k8s.io "missing" not found'
    assert status["incomplete"] is False
    assert "evaluationError" not in authz.rules_review_status(user("bob"), C, "default")


# -- Forbidden messages and review status -----------------------------------------------------


def test_forbidden_message_for_subresource_in_namespace() -> None:
    a = res(User("bob"), "get", "pods", "ns", sub="log", name="x")
    assert forbidden_message(a) == (
        'pods "x" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "ns"')


def test_forbidden_message_at_cluster_scope_and_for_collections() -> None:
    assert forbidden_message(res(User("bob"), "list", "nodes")) == (
        'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope')
    assert forbidden_message(res(User("bob"), "list", "deployments", "", "apps")) == (
        'deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" '
        'at the cluster scope')
    assert forbidden_message(res(User("bob"), "update", "deployments", "ns", "apps", "scale", "web")) == (
        'deployments.apps "web" is forbidden: User "bob" cannot update resource "deployments/scale" '
        'in API group "apps" in the namespace "ns"')


def test_forbidden_message_for_paths_and_with_reason() -> None:
    assert forbidden_message(path(User("system:anonymous"), "get", "/metrics")) == (
        'forbidden: User "system:anonymous" cannot get path "/metrics"')
    assert forbidden_message(res(User("bob"), "list", "pods", "ns"),
                             'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found') == (
        'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "ns": '
        'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found')


def test_forbidden_message_for_a_namespace_object() -> None:
    namespaces = ResourceInfo(group="", version="v1", kind="Namespace", plural="namespaces", namespaced=False)
    req = Request("GET", "get", C, namespaces, "", "team", "", {}, {}, User("bob"))  # type: ignore[arg-type]
    assert forbidden_message(req) == (
        'namespaces "team" is forbidden: User "bob" cannot get resource "namespaces" in API group "" '
        'in the namespace "team"')


def test_forbidden_error_is_a_403_status_with_kubes_details() -> None:
    err = forbidden_error(res(User("bob"), "get", "deployments", "ns", "apps", "scale", "web"))
    status = err.status()
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert forbidden_error(res(User("bob"), "list", "pods", "ns")).status()["details"] == {"kind": "pods"}
    assert forbidden_error(path(User("bob"), "get", "/x")).status()["details"] == {}


def test_access_review_status_shapes() -> None:
    assert access_review_status(False, "") == {"allowed": False}
    assert access_review_status(True, "RBAC: allowed by x") == {"allowed": True, "reason": "RBAC: allowed by x"}


def test_module_exports_what_it_documents() -> None:
    for name in rbac.__all__:
        assert hasattr(rbac, name), name
