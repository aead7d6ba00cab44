"""RBAC authorization for every logical cluster, deciding as kube-apiserver's RBAC authorizer decides.

Semantics (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac and pkg/registry/rbac/validation):
- The `system:masters` group is allowed everything, before RBAC is consulted (kube's privileged-group
  authorizer); its reason is empty.
- Otherwise the ClusterRoleBindings are visited, then the RoleBindings of the request's namespace.
  A binding applies when one of its subjects matches: User by name, Group by membership, and
  ServiceAccount by the user name `system:serviceaccount:<ns>:<name>` (a RoleBinding's subject with no
  namespace means the binding's own). The first rule of an applying binding's role that covers the
  request allows it; a binding whose role is missing adds an error to the denial's reason.
- A rule covers a resource request when verb, API group, resource (`pods`, `pods/log`, `*`, or
  `*/log` for any resource's `log`) and resource name (when it lists names) all match; a
  non-resource request when verb and path match (`*`, exact, or a prefix ending in `*`).
- An aggregated ClusterRole (`aggregationRule`) has the union of the rules of the ClusterRoles its
  selectors match (sorted by name, duplicates dropped): what kube's aggregation controller writes
  into it. Here the union is computed when a cluster's policy is compiled, so a new role labelled
  `aggregate-to-view` grants at once; `aggregation_updates` tells what to write back so that reading
  the aggregated role shows the same rules.

Default objects (rbac_bootstrap) are shared by every cluster of a version and never copied into the
store. The effective set of a cluster is: the version's defaults, less those with a tombstone, with
any stored object of the same name replacing the default (see `effective_objects`).
Tombstones: deleting a default object records a tombstone at
`(cluster, TOMBSTONES, namespace=<group_resource>, name=<object name>)` holding `tombstone_object(...)`;
it hides the default until removed. Creating an object of that name stores it (it overrides the
default whether or not the tombstone remains); deleting a stored override of a default must write
the tombstone again, or the default reappears.

Caching: each cluster's bindings are compiled once into indexes by user name and by group, with the
role rules compiled; clusters with no RBAC object of their own share one compiled policy per version.
Decisions are memoised per compiled policy. A compiled policy is dropped when any RBAC object (or
tombstone) of its cluster changes: the authorizer watches the store's events for those resources
(all clusters) and drains them synchronously at the start of each decision, so no server hook is
required for writes that go through the store. `invalidate(cluster)` is for changes that publish no
per-object event (removing a whole cluster); a cluster recreated under the same name is also told
apart by its uid.
"""

from __future__ import annotations

import collections
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubenest.api import selectors
from kubenest.api.errors import ApiError
from kubenest.api.rbac_bootstrap import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, bootstrap_objects, defaults_for
from kubenest.api.request import Request, User
from kubenest.store.store import Store, Watcher

__all__ = [
    "Attributes", "RbacAuthorizer",
    "attributes_for", "attributes_from_review_spec", "user_from_review_spec",
    "forbidden_message", "forbidden_reason_message", "forbidden_error", "access_review_status",
    "effective_objects", "aggregated_rules", "aggregation_updates", "tombstone_object", "is_tombstoned",
    "bootstrap_objects", "defaults_for",
    "CLUSTER_ROLES", "CLUSTER_ROLE_BINDINGS", "ROLES", "ROLE_BINDINGS", "TOMBSTONES", "RBAC_RESOURCES",
]

Obj = dict[str, Any]

ROLES = "roles.rbac.authorization.k8s.io"
ROLE_BINDINGS = "rolebindings.rbac.authorization.k8s.io"
TOMBSTONES = "defaulttombstones.kubenest.io"
"""Store resource key of default-object tombstones: namespace = group_resource, name = object name."""
RBAC_RESOURCES = (CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS, TOMBSTONES)

PRIVILEGED_GROUP = "system:masters"
SA_PREFIX = "system:serviceaccount:"

_DECISION_CACHE_MAX = 8192


class ClusterLike(Protocol):
    """What the authorizer needs of a logical cluster (LogicalCluster has it)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...


# -- request attributes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attributes:
    """What is asked, as kube's authorizer.Attributes: a resource request, or a path (non-resource)."""

    user: User
    verb: str
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    resource_request: bool = True


def attributes_for(req: Request) -> Attributes:
    """The authorization attributes of a resource request, as kube's RequestInfo resolves them.

    A namespace's own URL (`/api/v1/namespaces/foo`, and its status/finalize) is a request in
    namespace "foo", so a RoleBinding there can grant reading the namespace itself.
    """
    r = req.resource
    namespace = req.namespace
    if not namespace and req.name and r.group == "" and r.plural == "namespaces":
        namespace = req.name
    return Attributes(req.user, req.verb, namespace, r.group, r.plural, req.subresource, req.name)


def user_from_review_spec(spec: Obj) -> User:
    """The user a SubjectAccessReview asks about (spec.user, groups, uid, extra), taken as given."""
    extra = {k: list(v or ()) for k, v in (spec.get("extra") or {}).items()}
    return User(spec.get("user") or "", tuple(spec.get("groups") or ()), spec.get("uid") or "", None, extra)


def attributes_from_review_spec(user: User, spec: Obj) -> Attributes:
    """Attributes of an access review's spec (resourceAttributes or nonResourceAttributes)."""
    res = spec.get("resourceAttributes")
    if res is not None:
        return Attributes(user, res.get("verb") or "", res.get("namespace") or "", res.get("group") or "",
                          res.get("resource") or "", res.get("subresource") or "", res.get("name") or "")
    non = spec.get("nonResourceAttributes") or {}
    return Attributes(user, non.get("verb") or "", path=non.get("path") or "", resource_request=False)


# -- compiled rules -----------------------------------------------------------------------------


def _rule_key(rule: Obj) -> tuple[tuple[str, ...], ...]:
    """A rule's identity for de-duplication (nil and empty lists alike, as kube's Semantic.DeepEqual)."""
    return tuple(tuple(rule.get(f) or ()) for f in
                 ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"))


class _Rule:
    """One PolicyRule turned into sets, so matching a request is a few set lookups."""

    __slots__ = ("verbs", "groups", "all_resources", "resources", "any_subresources", "names",
                 "all_urls", "urls", "url_prefixes")

    def __init__(self, key: tuple[tuple[str, ...], ...]) -> None:
        verbs, groups, resources, names, urls = key
        # None means "*" (everything); an empty set matches nothing.
        self.verbs: frozenset[str] | None = None if "*" in verbs else frozenset(verbs)
        self.groups: frozenset[str] | None = None if "*" in groups else frozenset(groups)
        self.all_resources = "*" in resources
        self.resources = frozenset(resources)
        self.any_subresources = frozenset(r[2:] for r in resources if r.startswith("*/"))
        self.names: frozenset[str] | None = frozenset(names) if names else None
        self.all_urls = "*" in urls
        self.urls = frozenset(urls)
        self.url_prefixes = tuple(u.rstrip("*") for u in urls if u.endswith("*"))

    def allows(self, a: Attributes) -> bool:
        if self.verbs is not None and a.verb not in self.verbs:
            return False
        if not a.resource_request:
            if self.all_urls or a.path in self.urls:
                return True
            return any(a.path.startswith(p) for p in self.url_prefixes)
        if self.groups is not None and a.api_group not in self.groups:
            return False
        if not self.all_resources:
            combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
            if combined not in self.resources and not (a.subresource and a.subresource in self.any_subresources):
                return False
        return self.names is None or a.name in self.names


@functools.lru_cache(maxsize=4096)
def _compile_rules(keys: tuple[tuple[tuple[str, ...], ...], ...]) -> tuple[_Rule, ...]:
    # Keyed by content, so the default roles (and equal roles of many clusters) compile once.
    return tuple(_Rule(k) for k in keys)


# -- effective objects, defaults and tombstones -----------------------------------------------


def tombstone_object(group_resource: str, name: str) -> Obj:
    """The record stored at (cluster, TOMBSTONES, group_resource, name) when a default is deleted."""
    return {"metadata": {"name": name, "namespace": group_resource}, "groupResource": group_resource}


def is_tombstoned(store: Store, cluster: str, group_resource: str, name: str) -> bool:
    """Whether the default `group_resource`/`name` was deleted in `cluster`."""
    return store.get(cluster, TOMBSTONES, group_resource, name) is not None


def effective_objects(store: Store | None, cluster: str, version: str, group_resource: str) -> dict[str, Obj]:
    """Cluster-scoped objects of `group_resource` as the cluster sees them, by name, sorted by name:
    the version's defaults less tombstoned ones, with stored objects replacing defaults of their name."""
    out = dict(defaults_for(version).get(group_resource, {}))
    if store is not None:
        if out and store.count(cluster, TOMBSTONES, group_resource):
            for name in [n for n in out if is_tombstoned(store, cluster, group_resource, n)]:
                del out[name]
        for e in store.entries(cluster, group_resource, ""):
            out[e.obj["metadata"]["name"]] = e.obj
    return {n: out[n] for n in sorted(out)}


def _selector(sel: Obj | None) -> selectors.LabelSelector | None:
    """A clusterRoleSelector; None (matches nothing) for a null or invalid one, as kube skips them."""
    if sel is None:
        return None
    try:
        return selectors.from_label_selector_object(sel)
    except selectors.SelectorError:
        return None


def aggregated_rules(roles: dict[str, Obj], name: str, memo: dict[str, list[Obj]] | None = None,
                     visiting: set[str] | None = None) -> list[Obj]:
    """The rules of ClusterRole `name` among `roles` (name -> object): its own rules, or for an
    aggregated role the union of the rules of the roles its selectors match, as kube's controller
    collects them (selector by selector, matching roles sorted by name, itself excluded, duplicates
    dropped). Aggregated roles nest (admin takes edit's union); a cycle stops at the stored rules."""
    memo = {} if memo is None else memo
    visiting = set() if visiting is None else visiting
    if name in memo:
        return memo[name]
    obj = roles[name]
    agg = obj.get("aggregationRule")
    if agg is None or name in visiting:
        return list(obj.get("rules") or ())
    visiting.add(name)
    out: list[Obj] = []
    seen: set[tuple[tuple[str, ...], ...]] = set()
    for raw in agg.get("clusterRoleSelectors") or ():
        sel = _selector(raw)
        if sel is None:
            continue
        for other in sorted(roles):
            if other == name or not sel.matches(roles[other]["metadata"].get("labels")):
                continue
            for rule in aggregated_rules(roles, other, memo, visiting):
                k = _rule_key(rule)
                if k not in seen:
                    seen.add(k)
                    out.append(rule)
    visiting.discard(name)
    memo[name] = out
    return out


def aggregation_updates(store: Store, cluster: str, version: str) -> list[tuple[str, list[Obj]]]:
    """(name, rules) for each aggregated ClusterRole of `cluster` whose rules differ from the union
    of its selected roles: what kube's aggregation controller would write. The server writes these
    (storing a private copy of a default role) after ClusterRole writes, so reads show what
    authorization already uses."""
    roles = effective_objects(store, cluster, version, CLUSTER_ROLES)
    memo: dict[str, list[Obj]] = {}
    out: list[tuple[str, list[Obj]]] = []
    for name, obj in roles.items():
        if obj.get("aggregationRule") is None:
            continue
        want = aggregated_rules(roles, name, memo)
        have = obj.get("rules") or []
        if [_rule_key(r) for r in want] != [_rule_key(r) for r in have]:
            out.append((name, want))
    return out


# -- compiled bindings --------------------------------------------------------------------------


def _subject_applies(user: User, subject: Obj, namespace: str) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return user.name == subject.get("name")
    if kind == "Group":
        return subject.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or namespace
        return bool(ns) and user.name == f"{SA_PREFIX}{ns}:{subject.get('name', '')}"
    return False


def _subject_key(subject: Obj, namespace: str) -> tuple[str, str] | None:
    """Index key of a subject: ("u", user name) or ("g", group); None for one that never applies."""
    kind = subject.get("kind")
    name = subject.get("name") or ""
    if kind == "User":
        return "u", name
    if kind == "Group":
        return "g", name
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or namespace
        return ("u", f"{SA_PREFIX}{ns}:{name}") if ns else None
    return None


def _describe_subject(subject: Obj, namespace: str) -> str:
    kind = subject.get("kind", "")
    name = subject.get("name", "")
    if kind == "ServiceAccount":
        return f"{kind} {_q(name + '/' + (subject.get('namespace') or namespace))}"
    return f"{kind} {_q(name)}"


@dataclass(slots=True)
class _Binding:
    obj: Obj
    namespace: str  # "" for a ClusterRoleBinding
    rules: tuple[_Rule, ...]
    raw_rules: list[Obj]
    error: str  # the role could not be resolved

    def source(self, user: User) -> str:
        """kube's describer of the binding and the first subject that applies to `user`."""
        subjects = self.obj.get("subjects") or []
        subject: Obj = next((s for s in subjects if _subject_applies(user, s, self.namespace)), {})
        ref = self.obj.get("roleRef") or {}
        name = self.obj["metadata"]["name"]
        if self.namespace:
            what = f"RoleBinding {_q(name + '/' + self.namespace)}"
        else:
            what = f"ClusterRoleBinding {_q(name)}"
        return (f"{what} of {ref.get('kind', '')} {_q(ref.get('name', ''))} to "
                f"{_describe_subject(subject, self.namespace)}")


@dataclass(slots=True)
class _Index:
    """The bindings of one scope (the cluster's ClusterRoleBindings, or one namespace's RoleBindings)."""

    bindings: list[_Binding] = field(default_factory=list)
    users: dict[str, list[int]] = field(default_factory=dict)
    groups: dict[str, list[int]] = field(default_factory=dict)

    def add(self, b: _Binding) -> None:
        i = len(self.bindings)
        self.bindings.append(b)
        for s in b.obj.get("subjects") or ():
            key = _subject_key(s, b.namespace)
            if key is None:
                continue
            bucket = self.users if key[0] == "u" else self.groups
            ids = bucket.setdefault(key[1], [])
            if not ids or ids[-1] != i:
                ids.append(i)

    def applying(self, user: User) -> Iterator[_Binding]:
        """The bindings with a subject that applies to `user`, in binding order."""
        found: set[int] = set(self.users.get(user.name, ()))
        for g in user.groups:
            ids = self.groups.get(g)
            if ids:
                found.update(ids)
        for i in sorted(found):
            yield self.bindings[i]


_EMPTY_INDEX = _Index()


class _Policy:
    """The compiled RBAC state of one cluster (or of every cluster of a version with no RBAC objects)."""

    def __init__(self, store: Store | None, cluster: str, version: str) -> None:
        self.store = store
        self.cluster = cluster
        self.version = version
        self.cluster_roles = effective_objects(store, cluster, version, CLUSTER_ROLES)
        self._agg_memo: dict[str, list[Obj]] = {}
        self.cluster_index = _Index()
        for obj in effective_objects(store, cluster, version, CLUSTER_ROLE_BINDINGS).values():
            self.cluster_index.add(self._binding(obj, ""))
        self._ns_indexes: dict[str, _Index] = {}
        self.decisions: dict[tuple[Any, ...], tuple[bool, str]] = {}

    def _role_rules(self, ref: Obj, namespace: str) -> tuple[list[Obj], str]:
        kind = ref.get("kind", "")
        name = ref.get("name", "")
        if kind == "ClusterRole":
            if name not in self.cluster_roles:
                return [], f"clusterrole.rbac.authorization.k8s.io {_q(name)} not found"
            return aggregated_rules(self.cluster_roles, name, self._agg_memo), ""
        if kind == "Role":
            entry = self.store.get(self.cluster, ROLES, namespace, name) if self.store and namespace else None
            if entry is None:
                return [], f"role.rbac.authorization.k8s.io {_q(name)} not found"
            return list(entry.obj.get("rules") or ()), ""
        return [], f"unsupported role reference kind: {_q(kind)}"

    def _binding(self, obj: Obj, namespace: str) -> _Binding:
        raw, error = self._role_rules(obj.get("roleRef") or {}, namespace)
        return _Binding(obj, namespace, _compile_rules(tuple(_rule_key(r) for r in raw)), raw, error)

    def namespace_index(self, namespace: str) -> _Index:
        """The RoleBindings of `namespace`, compiled on first use."""
        idx = self._ns_indexes.get(namespace)
        if idx is None:
            if self.store is None or not self.store.count(self.cluster, ROLE_BINDINGS, namespace):
                return _EMPTY_INDEX
            idx = _Index()
            for e in self.store.entries(self.cluster, ROLE_BINDINGS, namespace):
                idx.add(self._binding(e.obj, namespace))
            self._ns_indexes[namespace] = idx
        return idx

    def applying(self, user: User, namespace: str) -> Iterator[_Binding]:
        """Applying ClusterRoleBindings, then applying RoleBindings of `namespace` (kube's visit order)."""
        yield from self.cluster_index.applying(user)
        if namespace:
            yield from self.namespace_index(namespace).applying(user)

    def decide(self, a: Attributes) -> tuple[bool, str]:
        errors: list[str] = []
        for b in self.applying(a.user, a.namespace):
            if b.error:
                errors.append(b.error)
                continue
            for rule in b.rules:
                if rule.allows(a):
                    return True, f"RBAC: allowed by {b.source(a.user)}"
        if errors:
            return False, f"RBAC: {_aggregate(errors)}"
        return False, ""


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(errs).Error(): one message alone, several de-duplicated in brackets."""
    if len(errors) == 1:
        return errors[0]
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# -- the authorizer -----------------------------------------------------------------------------


class RbacAuthorizer:
    """kube's RBAC authorizer (with the system:masters short-cut) over every cluster of one store."""

    def __init__(self, store: Store, max_clusters: int = 4096) -> None:
        self.store = store
        self.max_clusters = max_clusters
        # cluster -> (compiled policy, version, uid), least recently used first.
        self._policies: collections.OrderedDict[str, tuple[_Policy, str, str]] = collections.OrderedDict()
        self._watchers: list[tuple[str, Watcher]] = [
            (r, store.watch("*", r, None, None)) for r in RBAC_RESOURCES
        ]

    def close(self) -> None:
        """Stop watching the store."""
        for resource, w in self._watchers:
            self.store.unwatch("*", resource, w)
        self._watchers = []

    # -- cache management ---------------------------------------------------------------------

    def invalidate(self, cluster: str) -> None:
        """Forget the compiled policy of `cluster` (needed only for changes that publish no store event)."""
        self._policies.pop(cluster, None)

    def invalidate_all(self) -> None:
        self._policies.clear()

    def _drain(self) -> None:
        # Events of RBAC writes since the last decision: each drops its cluster's compiled policy.
        for _, w in self._watchers:
            q = w.queue
            while not q.empty():
                ev = q.get_nowait()
                if ev is not None:
                    self._policies.pop(ev.cluster, None)

    def _policy(self, cluster: ClusterLike) -> _Policy:
        self._drain()
        name = cluster.name
        uid = getattr(cluster, "uid", "")
        cached = self._policies.get(name)
        # The version and uid guard against a cluster deleted and created again under the same name.
        if cached is not None and cached[1] == cluster.version and cached[2] == uid:
            self._policies.move_to_end(name)
            return cached[0]
        if any(self.store.count(name, r) for r in RBAC_RESOURCES):
            p = _Policy(self.store, name, cluster.version)
        else:
            p = _shared_policy(cluster.version)
        self._policies[name] = (p, cluster.version, uid)
        if len(self._policies) > self.max_clusters:
            self._policies.popitem(last=False)
        return p

    # -- decisions ----------------------------------------------------------------------------

    def check(self, cluster: ClusterLike, a: Attributes) -> tuple[bool, str]:
        """Decide `a` in `cluster`: (allowed, reason), the reason as kube's SubjectAccessReview shows it."""
        if PRIVILEGED_GROUP in a.user.groups:
            return True, ""
        p = self._policy(cluster)
        if a.resource_request:
            key: tuple[Any, ...] = (a.user.name, a.user.groups, a.verb, a.api_group, a.resource,
                                    a.subresource, a.namespace, a.name)
        else:
            key = (a.user.name, a.user.groups, a.verb, a.path)
        hit = p.decisions.get(key)
        if hit is not None:
            return hit
        result = p.decide(a)
        if len(p.decisions) >= _DECISION_CACHE_MAX:
            p.decisions.clear()
        p.decisions[key] = result
        return result

    def authorize(self, req: Request) -> tuple[bool, str]:
        """The `Authorizer` protocol: decide a parsed resource request."""
        if PRIVILEGED_GROUP in req.user.groups:
            return True, ""  # as `check` decides it, without building the attributes first
        return self.check(req.cluster, attributes_for(req))

    def authorize_path(self, user: User, cluster: ClusterLike, verb: str, path: str) -> tuple[bool, str]:
        """Decide a non-resource request (`get /healthz`, `get /apis`...); verb is the lower-cased method."""
        return self.check(cluster, Attributes(user, verb, path=path, resource_request=False))

    def rules_for(self, user: User, cluster: ClusterLike, namespace: str) -> tuple[list[Obj], list[Obj], bool]:
        """(resourceRules, nonResourceRules, incomplete) of a SelfSubjectRulesReview, in kube's shape:
        every rule of every applying binding, in visit order, duplicates kept; a rule with resources
        gives a resource rule, one with nonResourceURLs a non-resource rule."""
        resource_rules, non_resource_rules, _ = self._rules(user, cluster, namespace)
        return resource_rules, non_resource_rules, False

    def rules_review_status(self, user: User, cluster: ClusterLike, namespace: str) -> Obj:
        """The `status` of a SelfSubjectRulesReview, with evaluationError for unresolvable roles."""
        resource_rules, non_resource_rules, errors = self._rules(user, cluster, namespace)
        status: Obj = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                       "incomplete": False}
        if errors:
            status["evaluationError"] = _aggregate(errors)
        return status

    def _rules(self, user: User, cluster: ClusterLike, namespace: str) -> tuple[list[Obj], list[Obj], list[str]]:
        p = self._policy(cluster)
        resource_rules: list[Obj] = []
        non_resource_rules: list[Obj] = []
        errors: list[str] = []
        for b in p.applying(user, namespace):
            if b.error:
                errors.append(b.error)
            for rule in b.raw_rules:
                if rule.get("resources"):
                    rr: Obj = {"verbs": list(rule.get("verbs") or ())}
                    for f in ("apiGroups", "resources", "resourceNames"):
                        if rule.get(f):
                            rr[f] = list(rule[f])
                    resource_rules.append(rr)
                if rule.get("nonResourceURLs"):
                    non_resource_rules.append({"verbs": list(rule.get("verbs") or ()),
                                               "nonResourceURLs": list(rule["nonResourceURLs"])})
        return resource_rules, non_resource_rules, errors


@functools.cache
def _shared_policy(version: str) -> _Policy:
    """The compiled policy of a cluster holding no RBAC object: the version's defaults alone."""
    return _Policy(None, "", version)


# -- Forbidden and review answers ---------------------------------------------------------------


def _q(s: str) -> str:
    """Go's %q for the names that appear in these messages."""
    return json.dumps(s, ensure_ascii=False)


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _attrs(x: Attributes | Request) -> Attributes:
    return attributes_for(x) if isinstance(x, Request) else x


def forbidden_reason_message(a: Attributes | Request) -> str:
    """kube's forbiddenMessage: `User "bob" cannot get resource "pods/log" in API group "" in the
    namespace "ns"`, `... at the cluster scope`, or `User "bob" cannot get path "/metrics"`."""
    a = _attrs(a)
    if not a.resource_request:
        return f"User {_q(a.user.name)} cannot {a.verb} path {_q(a.path)}"
    resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    head = f"User {_q(a.user.name)} cannot {a.verb} resource {_q(resource)} in API group {_q(a.api_group)}"
    if a.namespace:
        return f"{head} in the namespace {_q(a.namespace)}"
    return f"{head} at the cluster scope"


def forbidden_message(a: Attributes | Request, reason: str = "") -> str:
    """The full message of the 403 Status: `pods "x" is forbidden: User ...` (plus `: <reason>` when
    the authorizer gave one), or `forbidden: User ... cannot get path "/x"` for a path."""
    a = _attrs(a)
    msg = forbidden_reason_message(a)
    if reason:
        msg = f"{msg}: {reason}"
    if not a.resource_request or (not a.resource and not a.api_group):
        return f"forbidden: {msg}"
    gr = _qualified(a.resource, a.api_group)
    if a.name:
        return f"{gr} {_q(a.name)} is forbidden: {msg}"
    return f"{gr} is forbidden: {msg}"


def forbidden_error(a: Attributes | Request, reason: str = "") -> ApiError:
    """The 403 Forbidden Status kube answers, details included (kind is the resource, no subresource)."""
    a = _attrs(a)
    details: Obj = {}
    if a.resource_request:
        if a.name:
            details["name"] = a.name
        if a.api_group:
            details["group"] = a.api_group
        if a.resource:
            details["kind"] = a.resource
    return ApiError(403, "Forbidden", forbidden_message(a, reason), details)


def access_review_status(allowed: bool, reason: str) -> Obj:
    """The `status` of a (Self|Local)SubjectAccessReview for an RBAC decision (RBAC never denies
    outright, so `denied` and `evaluationError` never appear)."""
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status
