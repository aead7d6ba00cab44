"""The generic registry: create, read, update, patch, delete and list for every resource kind.

Follows k8s.io/apiserver's generic registry: one implementation of the verbs and their metadata
rules (uid, generateName, resourceVersion preconditions, generation, finalizers, graceful deletion,
dry-run, field validation, managed fields), with per-kind differences in `kubenest.api.strategy`.
"""

from __future__ import annotations

import base64
import builtins
import copy
import datetime
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import yaml

from kubenest.api import apply as ssa
from kubenest.api import errors, patch, protobuf, selectors, strategy, validation
from kubenest.api.clusters import LogicalCluster, now_rfc3339
from kubenest.api.errors import ApiError
from kubenest.api.names import new_uid, random_string
from kubenest.api.request import Request, User
from kubenest.api.resources import ResourceInfo, ScaleInfo
from kubenest.api.shapes import shape
from kubenest.store.store import Entry, Store, StoreError

Obj = dict[str, Any]

# Metadata fields a client may not set or change.
_SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                "selfLink", "resourceVersion")


@dataclass
class Context:
    """What strategies may use: the store and the cluster the request is in."""

    store: Store
    cluster: LogicalCluster
    user: User | None = None


class Warnings(list[str]):
    """Warnings to send as `Warning: 299 - "..."` headers."""


_Hook = TypeVar("_Hook", bound=Callable[..., Any])


def handles(resources: Iterable[str] | None = None, operations: Iterable[str] | None = None
            ) -> Callable[[_Hook], _Hook]:
    """Declare which writes a registry hook is for, as kube's admission plugins answer `Handles`: the
    group-resources (`req.key`, e.g. "pods") and operations ("create", "update", "delete") it acts on.
    The registry does not call a hook for other writes; an undeclared hook is called for every write.
    """

    def declare(hook: _Hook) -> _Hook:
        hook.handles = (frozenset(resources) if resources is not None else None,  # type: ignore[attr-defined]
                        frozenset(operations) if operations is not None else None)
        return hook

    return declare


def _handled(hook: Any, key: str, operation: str) -> bool:
    scope = getattr(hook, "handles", None)
    return scope is None or ((scope[0] is None or key in scope[0]) and (scope[1] is None or operation in scope[1]))


class Hooks:
    """One kind of registry hooks, in the order they were added, and which of them handle each
    (group-resource, operation): worked out once per pair, again after a hook is added or removed."""

    def __init__(self) -> None:
        self._hooks: list[Any] = []
        self._handling: dict[tuple[str, str], tuple[Any, ...]] = {}

    def append(self, hook: Any) -> None:
        self._hooks.append(hook)
        self._handling.clear()

    def remove(self, hook: Any) -> None:
        self._hooks.remove(hook)
        self._handling.clear()

    def __contains__(self, hook: Any) -> bool:
        return hook in self._hooks

    def handling(self, key: str, operation: str) -> tuple[Any, ...]:
        """The hooks that handle `operation` on the group-resource `key`, in order."""
        found = self._handling.get((key, operation))
        if found is None:
            found = self._handling[(key, operation)] = tuple(h for h in self._hooks if _handled(h, key, operation))
        return found

    def call(self, key: str, operation: str, *args: Any) -> Awaitable[None] | None:
        """Call, in order, the hooks that handle this write. Plain functions run here; from the first hook
        that returns an awaitable on, the rest run in the coroutine returned (None when all are done), so a
        write whose hooks are plain functions pays for no coroutine."""
        hooks = self.handling(key, operation)
        for i, hook in enumerate(hooks):
            if (pending := hook(*args)) is not None:
                return _call_rest(pending, hooks[i + 1:], args)
        return None


async def _call_rest(pending: Awaitable[None], rest: tuple[Any, ...], args: tuple[Any, ...]) -> None:
    await pending
    for hook in rest:
        if (more := hook(*args)) is not None:
            await more


def decode_body(req: Request) -> Obj:
    """Parse a JSON, YAML or Kubernetes-protobuf request body; other media types get kube's 415."""
    ct = req.content_type
    if ct == protobuf.CONTENT_TYPE and not req.resource.is_custom:
        try:
            return protobuf.decode(req.body, req.resource.group, req.resource.version, req.resource.kind)
        except ValueError as e:
            raise errors.bad_request(f"the object provided is unrecognized: {e}") from None
    if ct in (protobuf.CONTENT_TYPE, "application/cbor", "application/vnd.kubernetes.cbor"):
        raise errors.unsupported_media_type("application/json, application/yaml")
    try:
        if ct in ("application/yaml", "application/apply-patch+yaml"):
            data = yaml.safe_load(req.body)
        else:
            data = orjson.loads(req.body)
    except (orjson.JSONDecodeError, yaml.YAMLError) as e:
        raise errors.bad_request(f"the object provided is unrecognized: {_first_line(str(e))}") from None
    if not isinstance(data, dict):
        raise errors.bad_request("the object provided is unrecognized")
    return data


def _default_type(obj: Obj, r: ResourceInfo) -> None:
    """Fill a missing kind and apiVersion from the endpoint, as kube's JSON decoder does for typed objects.

    Only built-in kinds get this (gvkWithDefaults); custom resources decode as unstructured and must name
    their kind. Clients such as the Python client send typed objects without kind and apiVersion.
    """
    av = obj.get("apiVersion") or ""
    group, _, version = av.rpartition("/")
    fill_version = not version and (not group or group == r.group)
    if obj.get("kind") and not fill_version:
        return
    rest = {k: obj.pop(k) for k in list(obj) if k not in ("kind", "apiVersion")}
    obj["kind"] = obj.get("kind") or r.kind
    obj["apiVersion"] = r.api_version if fill_version else av
    obj.update(rest)  # kind and apiVersion first, as kube encodes them


def _continue_token(rv: int, last: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"rv": rv, "ns": last[0], "name": last[1]})).decode().rstrip("=")


def _continue_expired(start: tuple[str, str]) -> ApiError:
    """kube's 410 for a continue token older than the history: it offers a token that goes on at the
    latest revision."""
    err = errors.gone(
        "The provided continue parameter is too old to display a consistent list result. You can start a new "
        "list without the continue parameter, or use the continue token in this response to retrieve the "
        "remainder of the results. Continuing with the provided token results in an inconsistent list - "
        "objects that were created, modified, or deleted between the time the first chunk was returned and "
        "now may show up in the list."
    )
    err.metadata = {"continue": _continue_token(-1, start)}
    return err


def _first_line(s: str) -> str:
    return s.strip().splitlines()[0] if s.strip() else s


class Registry:
    """Verbs over the store for all clusters of one server."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Hooks other parts of the server add (CRD controller, GC): called after committed writes. Every
        # list of hooks here calls a hook only for the writes it declares with `handles` (default: all);
        # admission and after-write hooks are plain functions or coroutine functions (awaited).
        self.after_write = Hooks()
        # Admission plugins (kubenest.api.admission), each `hook(req, obj, old)` (old is None on
        # create) that raises ApiError to deny. As in kube-apiserver, mutating ones run after defaulting
        # and may change `obj`; validating ones run after validation and may only reject it.
        self.mutating_admission = Hooks()
        self.validating_admission = Hooks()
        # Allocators (kube's BeginCreate), each `async hook(req, obj) -> finish | None`, run after validation and
        # admission, before the strategy's own `begin_create` and the write (not on dry runs); each returned
        # `async finish(ok)` learns whether the object was stored, so it can release what it took.
        self.begin_create = Hooks()

    # -- helpers ------------------------------------------------------------------------------------

    def ctx(self, req: Request) -> Context:
        return Context(self.store, req.cluster, req.user)

    def _get_entry(self, req: Request) -> Entry:
        e = self.store.get(req.cluster.name, req.key, req.namespace, req.name)
        if e is None:
            raise errors.not_found(req.resource.plural, req.resource.group, req.name)
        return e

    def _check_namespace(self, req: Request, creating: bool) -> None:
        if not req.resource.namespaced:
            return
        ns = self.store.get(req.cluster.name, "namespaces", "", req.namespace)
        if ns is None:
            raise errors.not_found("namespaces", "", req.namespace)
        if creating and ns.obj["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f'{req.resource.plural} "{req.name}" is forbidden: unable to create new content in namespace '
                f"{req.namespace} because it is being terminated",
                {"name": req.name, "group": req.resource.group, "kind": req.resource.plural,
                 "causes": [{"reason": "NamespaceTerminating",
                             "message": f"namespace {req.namespace} is being terminated",
                             "field": "metadata.namespace"}]},
            )

    def _check_type(self, req: Request, obj: Obj, fill_defaults: bool = True) -> None:
        r = req.resource
        if fill_defaults and not r.is_custom:
            _default_type(obj, r)
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if not kind:
            raise errors.bad_request("Object 'Kind' is missing in '" + _short(obj) + "'")
        if kind != r.kind or av != r.api_version:
            if av and av != r.api_version:
                raise errors.bad_request(
                    f"the API version in the data ({av}) does not match the expected API version ({r.api_version})"
                )
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({r.kind})")

    def _field_validation(self, req: Request, obj: Obj, warnings: Warnings, decode: bool = False) -> None:
        """Unknown fields as the request's fieldValidation asks; with `decode`, first what Go's JSON decoder
        refuses (a 400), as kube decodes a body before it reports unknown fields."""
        mode = req.q("fieldValidation") or "Warn"
        if mode not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f"fieldValidation parameter unsupported: {mode}, must be one of Ignore, Warn, or Strict"
            )
        if mode == "Ignore" and not decode:
            return
        r = req.resource
        node, resolve = strategy.schema_of(r, req.cluster)
        if node is None:
            return
        # Both checks depend on the object's shape: worked out once for the two.
        of = None if r.is_custom else shape(obj)
        if decode:
            strategy.for_resource(r).decode_check(r, obj, self.ctx(req), of)
        if mode == "Ignore":
            return
        unknown = validation.unknown_fields(obj, node, resolve, of=of)
        if not unknown:
            return
        msgs = [f'unknown field "{u.lstrip(".")}"' for u in unknown]
        if mode == "Strict":
            raise errors.bad_request("strict decoding error: " + ", ".join(msgs))
        warnings.extend(msgs)

    # -- read ---------------------------------------------------------------------------------------

    def get(self, req: Request) -> Entry:
        e = self._get_entry(req)
        return e

    def list(self, req: Request) -> tuple[list[Entry], Obj]:
        """Entries matching the request's selectors, one page of them, and the list metadata."""
        r = req.resource
        label_sel, field_sel = parse_selectors(req)
        ns = req.namespace if r.namespaced and req.namespace else None
        limit = max(req.int_param("limit"), 0)
        cont = req.q("continue")
        start: tuple[str, str] | None = None
        list_rv = self.store.rv
        source = None
        if cont:
            try:
                token = orjson.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)))
                start = (token["ns"], token["name"])
                token_rv = int(token["rv"])
            except (ValueError, KeyError, TypeError):
                raise errors.bad_request("continue key is not valid: invalid continue token") from None
            if token_rv != -1:  # -1: continue at the latest revision (offered when a snapshot expired)
                list_rv = token_rv
                source = self.store.entries_at(req.cluster.name, req.key, ns, list_rv)
                if source is None:
                    raise _continue_expired(start)
        if source is None:
            source = self.store.entries(req.cluster.name, req.key, ns)
        out: list[Entry] = []
        remaining = 0
        more = False
        last: tuple[str, str] | None = None
        selective = label_sel is not None or field_sel is not None
        for e in source:
            meta = e.obj["metadata"]
            pos = (meta.get("namespace", ""), meta["name"])
            if start is not None and pos <= start:
                continue
            if limit and len(out) >= limit:
                # kube's watch cache: with a selector any later object means "more" (the next page may
                # be empty) and the remaining count is unknown; without one it counts what is left.
                more = True
                if selective:
                    break
                remaining += 1
                continue
            if label_sel is not None and not label_sel.matches(meta.get("labels")):
                continue
            if field_sel is not None and not field_sel.matches(selectors.field_attributes(r.group, r.kind, e.obj)):
                continue
            out.append(e)
            last = pos
        list_meta: Obj = {"resourceVersion": str(list_rv)}
        if more and last is not None:
            list_meta["continue"] = _continue_token(list_rv, last)
            if not selective:
                list_meta["remainingItemCount"] = remaining
        return out, list_meta

    # -- create -------------------------------------------------------------------------------------

    async def create(self, req: Request, obj: Obj | None = None, warnings: Warnings | None = None,
                     track: bool = True) -> Obj:
        r = req.resource
        warnings = warnings if warnings is not None else Warnings()
        from_request = obj is None
        obj, meta = self._body(req, obj, warnings, decode=True)
        name = meta.get("name") or ""
        generated = not name and bool(meta.get("generateName"))
        if generated:
            name = meta["generateName"] + random_string()
            meta["name"] = name
        if r.namespaced:
            ns_in_body = meta.get("namespace")
            if ns_in_body and req.namespace and ns_in_body != req.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = req.namespace or ns_in_body or ""
        else:
            meta.pop("namespace", None)
        if not name:
            raise errors.invalid(r.kind, r.group, "", [{"type": "FieldValueRequired", "field": "metadata.name"}],
                                 f"{r.kind} \"\" is invalid: metadata.name: Required value: name or generateName is required")
        req.name = name
        if r.namespaced and not req.namespace:
            req.namespace = meta["namespace"]
        self._check_namespace(req, creating=True)
        sent_rv = meta.get("resourceVersion")
        for f in _SYSTEM_META:
            meta.pop(f, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = now_rfc3339()
        ctx = self.ctx(req)
        strat = strategy.for_resource(r)
        if r.has_status and r.kind not in ("Namespace", "Pod", "Node"):
            # kube drops status on create for kinds with a status subresource (kubelets register Nodes with theirs).
            obj.pop("status", None)
        if not from_request:
            strat.decode_check(r, obj, ctx)  # a request's body was checked as it was decoded
        strat.prepare_for_create(r, obj, ctx)
        if strat.uses_generation(r):
            meta["generation"] = 1
        if pending := self._admit(self.mutating_admission, req, obj, None):
            await pending
        strategy.check(strat.validate(r, obj, None, ctx), r, obj)
        if pending := self._admit(self.validating_admission, req, obj, None):
            await pending
        if track:
            self._track(req, None, obj)
        if sent_rv not in (None, "", "0") and not req.dry_run:
            # The storage layer's check (after validation and admission; dry runs never reach it).
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        begin_hooks = () if req.dry_run else self.begin_create.handling(req.key, "create")
        if begin_hooks:
            finishers = await self._begin_create(req, begin_hooks, strat, obj, ctx)
        else:  # no hook takes anything for this create: nothing to release if a later step fails
            strat.begin_create(r, obj, ctx)
            finishers = []
        if req.dry_run:
            if self.store.get(req.cluster.name, req.key, req.namespace, name) is not None:
                raise errors.already_exists(r.plural, r.group, name)
            return obj
        try:
            # A generated name that is taken gets a new suffix, as kube (1.32+) retries on the server.
            for _attempt in range(8 if generated else 1):
                try:
                    entry = await self.store.create(req.cluster.name, req.key, req.namespace, name, obj)
                    break
                except StoreError:
                    if not generated:
                        raise errors.already_exists(r.plural, r.group, name) from None
                    name = req.name = meta["name"] = meta["generateName"] + random_string()
            else:
                raise errors.already_exists(r.plural, r.group, name)
        except BaseException:
            await self._finish(finishers, False)
            raise
        if finishers:
            await self._finish(finishers, True)
        if pending := self._after(req, None, entry.obj):
            await pending
        return entry.obj

    def _body(self, req: Request, obj: Obj | None, warnings: Warnings, decode: bool = False) -> tuple[Obj, Obj]:
        """The object to write (decoded, type-checked and field-validated when it comes from the
        request body; with `decode`, checked as Go's JSON decoder would too) and its metadata dict."""
        if obj is None:
            obj = decode_body(req)
            self._check_type(req, obj)
            self._field_validation(req, obj, warnings, decode)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        return obj, meta

    def _track(self, req: Request, old: Obj | None, new: Obj) -> None:
        """Record managed fields of a non-apply write, as kube's field manager does."""
        manager = req.q("fieldManager") or _default_manager(req)
        node, resolve = strategy.schema_of(req.resource, req.cluster)
        if node is None:
            return
        try:
            ssa.track_update(old, new, manager, node, resolve, req.resource.api_version, now_rfc3339(),
                             req.subresource, reset_fields=_reset_fields(req))
        except ssa.ApplyError:
            # Objects kube's field manager cannot track (e.g. duplicate list keys) are stored untracked.
            new["metadata"].pop("managedFields", None)

    async def _begin_create(self, req: Request, hooks: tuple[Any, ...], strat: strategy.Strategy, obj: Obj,
                            ctx: Context) -> builtins.list[Any]:
        """Run the `begin_create` hooks that handle this create, then the strategy's; what the hooks took is
        released if a later step fails. Returns their finishers."""
        finishers: builtins.list[Any] = []
        try:
            for hook in hooks:
                finish = await hook(req, obj)
                if finish is not None:
                    finishers.append(finish)
            strat.begin_create(req.resource, obj, ctx)
        except BaseException:
            await self._finish(finishers, False)
            raise
        return finishers

    @staticmethod
    async def _finish(finishers: Any, ok: bool) -> None:
        for finish in finishers:
            await finish(ok)

    @staticmethod
    def _admit(hooks: Hooks, req: Request, obj: Obj, old: Obj | None) -> Awaitable[None] | None:
        """Run admission hooks; what is left to await, if a hook is a coroutine function."""
        return hooks.call(req.key, "create" if old is None else "update", req, obj, old)

    def _after(self, req: Request, old: Obj | None, new: Obj | None) -> Awaitable[None] | None:
        """Run the after-write hooks; what is left to await, if a hook is a coroutine function."""
        operation = "create" if old is None else "delete" if new is None else "update"
        return self.after_write.call(req.key, operation, req, old, new)

    # -- update -------------------------------------------------------------------------------------

    async def update(self, req: Request, obj: Obj | None = None, warnings: Warnings | None = None,
                     from_patch: Entry | None = None, track: bool = True) -> Obj:
        """PUT (and the write half of PATCH). Status writes change only status.

        `track=False` keeps the managedFields the caller computed (server-side apply).
        """
        r = req.resource
        warnings = warnings if warnings is not None else Warnings()
        obj, meta = self._body(req, obj, warnings)
        body_name = meta.get("name")
        if body_name and body_name != req.name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({req.name})"
            )
        meta["name"] = req.name
        if r.namespaced:
            if meta.get("namespace") and meta["namespace"] != req.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = req.namespace
        old_entry = from_patch or self.store.get(req.cluster.name, req.key, req.namespace, req.name)
        if old_entry is None:
            raise errors.not_found(r.plural, r.group, req.name)
        old = old_entry.obj
        expect: int | None = None
        rv_text = meta.get("resourceVersion")
        if rv_text:
            try:
                expect = int(rv_text)
            except ValueError:
                raise errors.bad_request(f'invalid resource version: "{rv_text}"') from None
            if expect != old_entry.rv:
                raise errors.conflict_modified(r.plural, r.group, req.name)
        elif from_patch is not None:
            expect = old_entry.rv
        ctx = self.ctx(req)
        strat = strategy.for_resource(r)
        if req.subresource == "status":
            # The strategy decides what a status write may change in metadata (kube's status strategies).
            strat.decode_check(r, obj, ctx)
            new = strat.after_read_status(obj, old)
        else:
            new = obj
            old_meta = old["metadata"]
            for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if f in old_meta:
                    meta[f] = old_meta[f]
                else:
                    meta.pop(f, None)
            if r.has_status and r.kind != "Namespace":
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            strat.decode_check(r, new, ctx)
            strat.prepare_for_update(r, new, old, ctx)
            if strat.uses_generation(r) and _spec_changed(new, old):
                meta["generation"] = int(old_meta.get("generation", 1)) + 1
        new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
        if pending := self._admit(self.mutating_admission, req, new, old):
            await pending
        strategy.check(strat.validate(r, new, old, ctx), r, new)
        if pending := self._admit(self.validating_admission, req, new, old):
            await pending
        if track:
            if "managedFields" not in obj.get("metadata", {}) and old["metadata"].get("managedFields") is not None:
                new["metadata"]["managedFields"] = copy.deepcopy(old["metadata"]["managedFields"])
            self._track(req, old, new)
        return await self._write(req, old_entry, new, expect)

    async def _write(self, req: Request, old_entry: Entry, new: Obj, expect: int | None) -> Obj:
        """Store `new` over `old_entry` unless nothing changed; finish deletion once finalizers are gone."""
        r = req.resource
        old = old_entry.obj
        if _same(new, old):
            return old
        if req.dry_run:
            return new
        meta = new["metadata"]
        # The last finalizer gone finishes a deletion, unless a graceful one is still under way (kube's
        # shouldDeleteDuringUpdate: only once the grace period is 0).
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not old["metadata"].get(
                "deletionGracePeriodSeconds"):
            entry = await self._delete_now(req, old_entry.rv if expect is None else expect)
            return entry.obj
        try:
            entry = await self.store.update(req.cluster.name, req.key, req.namespace, req.name, new, expect)
        except StoreError as e:
            if e.reason == "missing":
                raise errors.not_found(r.plural, r.group, req.name) from None
            raise errors.conflict_modified(r.plural, r.group, req.name) from None
        if pending := self._after(req, old, entry.obj):
            await pending
        return entry.obj

    # -- patch --------------------------------------------------------------------------------------

    async def patch(self, req: Request, warnings: Warnings) -> Obj:
        r = req.resource
        ct = req.content_type
        node, resolve = strategy.schema_of(r, req.cluster)
        if ct == "application/apply-patch+yaml" or ct == "application/apply-patch+cbor":
            if ct.endswith("cbor"):
                raise errors.unsupported_media_type(_PATCH_TYPES)
            return await self._apply(req, warnings)
        if ct not in ("application/json-patch+json", "application/merge-patch+json",
                      "application/strategic-merge-patch+json"):
            raise errors.unsupported_media_type(_PATCH_TYPES)
        if ct == "application/strategic-merge-patch+json" and r.is_custom:
            raise errors.unsupported_media_type(_PATCH_TYPES.replace(", application/strategic-merge-patch+json", ""))
        try:
            body = orjson.loads(req.body)
        except orjson.JSONDecodeError as e:
            raise errors.bad_request(f"error decoding patch: {e}") from None
        for _attempt in range(5):
            cur = self._get_entry(req)
            base = orjson.loads(cur.raw)
            if req.subresource == "scale":
                base = to_scale(r, base)
            try:
                if ct == "application/json-patch+json":
                    if not isinstance(body, list):
                        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
                    new = patch.json_patch(base, body)
                elif ct == "application/merge-patch+json":
                    if not isinstance(body, dict):
                        raise errors.bad_request("json: cannot unmarshal into a map")
                    new = patch.merge_patch(base, body)
                else:
                    if not isinstance(body, dict):
                        raise errors.bad_request("json: cannot unmarshal into a map")
                    new = patch.strategic_merge_patch(base, body, node or {}, resolve)
                    # Like kube's conversion to a typed object: nulls and leftover directives vanish.
                    new = _drop_nulls(new)
            except patch.PatchError as e:
                raise ApiError(e.code, e.reason, e.message) from None
            if not isinstance(new, dict):
                raise errors.bad_request("the patch did not produce an object")
            if req.subresource == "scale":
                return await self._write_scale(req, new, cur)
            self._field_validation(req, new, warnings)
            new_meta = new.get("metadata") or {}
            # A patch that sets resourceVersion is a precondition; otherwise patch the current state.
            rv_in_patch = _patch_sets_rv(body, ct)
            if not rv_in_patch:
                new_meta["resourceVersion"] = str(cur.rv)
            try:
                return await self.update(req, new, warnings, from_patch=cur if not rv_in_patch else None)
            except ApiError as e:
                if e.code == 409 and e.reason == "Conflict" and not rv_in_patch:
                    continue
                raise
        raise errors.conflict_modified(r.plural, r.group, req.name)

    async def _apply(self, req: Request, warnings: Warnings) -> Obj:
        r = req.resource
        manager = req.q("fieldManager")
        if not manager:
            raise errors.bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
        force = req.flag("force")
        config = decode_body(req)
        self._check_type(req, config, fill_defaults=False)
        cmeta = config.get("metadata") or {}
        if cmeta.get("name") and cmeta["name"] != req.name:
            raise errors.bad_request(
                f"the name of the object ({cmeta['name']}) does not match the name on the URL ({req.name})"
            )
        self._field_validation(req, config, warnings)
        node, resolve = strategy.schema_of(r, req.cluster)
        for _attempt in range(5):
            cur = self.store.get(req.cluster.name, req.key, req.namespace, req.name)
            live = orjson.loads(cur.raw) if cur is not None else None
            if live is not None and req.subresource == "" and r.has_status:
                # Apply to the main resource never touches status.
                config.pop("status", None)
            try:
                new = ssa.server_side_apply(live, copy.deepcopy(config), manager, force, node or {}, resolve,
                                            r.api_version, now_rfc3339(), req.subresource,
                                            reset_fields=_reset_fields(req))
            except ssa.ApplyConflict as e:
                raise ApiError(409, "Conflict", e.message(), {
                    "causes": [{"reason": c["type"], "message": c["message"], "field": c["field"]}
                               for c in e.causes]}) from None
            except ssa.ApplyError as e:
                raise ApiError(e.code, e.reason, e.message) from None
            if cur is None:
                if req.subresource:
                    raise errors.not_found(r.plural, r.group, req.name)
                new.setdefault("metadata", {})["name"] = req.name
                return await self.create(req, new, warnings, track=False)
            new["metadata"]["resourceVersion"] = str(cur.rv)
            try:
                return await self.update(req, new, warnings, from_patch=cur, track=False)
            except ApiError as e:
                if e.code == 409 and e.reason == "Conflict":
                    continue
                raise
        raise errors.conflict_modified(r.plural, r.group, req.name)

    # -- scale --------------------------------------------------------------------------------------

    def get_scale(self, req: Request) -> Obj:
        return to_scale(req.resource, self._get_entry(req).obj)

    async def update_scale(self, req: Request) -> Obj:
        body = decode_body(req)
        cur = self._get_entry(req)
        return await self._write_scale(req, body, cur)

    async def _write_scale(self, req: Request, scale: Obj, cur: Entry) -> Obj:
        r = req.resource
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.invalid("Scale", "autoscaling", req.name,
                                 [{"type": "FieldValueInvalid", "field": "spec.replicas"}],
                                 f'Scale.autoscaling "{req.name}" is invalid: spec.replicas: Invalid value: '
                                 f"{replicas}: must be greater than or equal to 0")
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != str(cur.rv):
            raise errors.conflict_modified(r.plural, r.group, req.name)
        new = orjson.loads(cur.raw)
        _set_path(new, (r.scale or ScaleInfo()).spec_replicas, replicas)
        saved = req.subresource
        req.subresource = ""
        try:
            await self.update(req, new, from_patch=cur)
        finally:
            req.subresource = saved
        return self.get_scale(req)

    # -- delete -------------------------------------------------------------------------------------

    async def delete(self, req: Request) -> tuple[Obj, bool]:
        """Delete one object. Returns (object, finished): finished is False while finalizers hold it."""
        r = req.resource
        opts = self._delete_options(req)
        entry = self._get_entry(req)
        obj = entry.obj
        pre = opts.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
            raise errors.conflict(r.plural, r.group, req.name,
                                  f"Precondition failed: UID in precondition: {pre['uid']}, "
                                  f"UID in object meta: {obj['metadata'].get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != str(entry.rv):
            raise errors.conflict(r.plural, r.group, req.name,
                                  f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                                  f"ResourceVersion in object meta: {entry.rv}")
        policy = opts.get("propagationPolicy")
        if policy is None and opts.get("orphanDependents") is not None:
            policy = "Orphan" if opts["orphanDependents"] else "Background"
        if policy is None:
            policy = strategy.for_resource(r).default_propagation()
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.invalid("DeleteOptions", "meta.k8s.io", "", [],
                                 f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                                 f'"{policy}": supported values: "Foreground", "Background", "Orphan", "nil"')
        finalizers = list(obj["metadata"].get("finalizers") or [])
        extra = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy or "")
        if extra and extra not in finalizers and self._has_dependents(req.cluster.name, obj):
            finalizers.append(extra)
        if r.kind == "Namespace" and r.group == "":
            finalizers_spec = (obj.get("spec") or {}).get("finalizers") or []
        else:
            finalizers_spec = []
        if req.dry_run:
            return obj, not (finalizers or finalizers_spec)
        graceful = await self._graceful_delete(req, entry, opts, finalizers)
        if graceful is not None:
            return graceful, False
        if finalizers or finalizers_spec:
            if obj["metadata"].get("deletionTimestamp"):
                return obj, False
            new = orjson.loads(entry.raw)
            new["metadata"]["deletionTimestamp"] = now_rfc3339()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["metadata"]["finalizers"] = finalizers
            if r.kind == "Namespace" and r.group == "":
                new["status"] = {"phase": "Terminating"}
            if not new["metadata"]["finalizers"]:
                del new["metadata"]["finalizers"]
            updated = await self.store.update(req.cluster.name, req.key, req.namespace, req.name, new, entry.rv)
            if pending := self._after(req, obj, updated.obj):
                await pending
            return updated.obj, False
        done = await self._delete_now(req, entry.rv)
        return done.obj, True

    async def _graceful_delete(self, req: Request, entry: Entry, opts: Obj, finalizers: builtins.list[str]) -> Obj | None:
        """Graceful deletion (pods on a node): set deletionTimestamp to the deadline and leave the object to
        whoever runs it (the kubelet deletes it with grace 0), as kube's BeforeDelete. A later delete may only
        shorten the grace period. None: delete (or finalize) now."""
        requested = opts.get("gracePeriodSeconds")
        if isinstance(requested, int) and requested < 0:
            requested = 1
        period = strategy.for_resource(req.resource).grace_period(entry.obj, requested)
        if period is None:
            return None
        meta = entry.obj["metadata"]
        old_grace = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp"):
            if not old_grace or period >= old_grace:
                return None if not old_grace else entry.obj
            deadline = _parse_time(meta["deletionTimestamp"]) - datetime.timedelta(seconds=old_grace - period)
        elif period == 0:
            return None
        else:
            deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=period)
        new = orjson.loads(entry.raw)
        new["metadata"]["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        new["metadata"]["deletionGracePeriodSeconds"] = period
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        if period == 0 and not finalizers:
            return None
        try:
            updated = await self.store.update(req.cluster.name, req.key, req.namespace, req.name, new, entry.rv)
        except StoreError:
            raise errors.conflict_modified(req.resource.plural, req.resource.group, req.name) from None
        if pending := self._after(req, entry.obj, updated.obj):
            await pending
        return updated.obj

    async def _delete_now(self, req: Request, expect: int | None) -> Entry:
        r = req.resource
        try:
            entry = await self.store.delete(req.cluster.name, req.key, req.namespace, req.name, expect)
        except StoreError as e:
            if e.reason == "missing":
                raise errors.not_found(r.plural, r.group, req.name) from None
            raise errors.conflict_modified(r.plural, r.group, req.name) from None
        if pending := self._after(req, entry.obj, None):
            await pending
        return entry

    def _delete_options(self, req: Request) -> Obj:
        opts: Obj = {}
        if req.body and req.body.strip():
            try:
                opts = decode_body(req)
            except ApiError:
                raise
        for k in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            if k in req.query:
                v: Any = req.query[k]
                if k == "gracePeriodSeconds":
                    v = req.int_param(k)
                elif k == "orphanDependents":
                    v = v == "true"
                opts[k] = v
        if opts.get("dryRun") == ["All"]:
            req.query["dryRun"] = "All"
        return opts

    def _has_dependents(self, cluster: str, owner: Obj) -> bool:
        return next(self.store.dependents(cluster, owner["metadata"].get("uid", "")), None) is not None

    async def delete_collection(self, req: Request) -> builtins.list[Obj]:
        entries, _ = self.list(req)
        out = []
        for e in entries:
            meta = e.obj["metadata"]
            sub = Request(req.method, "delete", req.cluster, req.resource, meta.get("namespace", ""), meta["name"],
                          "", dict(req.query), req.headers, req.user, req.body)
            try:
                obj, _ = await self.delete(sub)
                out.append(obj)
            except ApiError as err:
                if err.code != 404:
                    raise
        return out


_PATCH_TYPES = ("application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
                "application/strategic-merge-patch+json")


def _patch_sets_rv(body: Any, ct: str) -> bool:
    if ct == "application/json-patch+json":
        return any(isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" and op.get("op") != "test"
                   for op in body)
    meta = body.get("metadata") if isinstance(body, dict) else None
    return isinstance(meta, dict) and bool(meta.get("resourceVersion"))


def _reset_fields(req: Request) -> list[tuple[str, ...]]:
    """Fields a write to this endpoint does not own (kube's per-resource reset fields)."""
    if req.resource.has_status:
        return [("spec",)] if req.subresource == "status" else [("status",)]
    return []


def _default_manager(req: Request) -> str:
    ua = req.headers.get(b"user-agent", b"").decode("latin-1")
    # kube uses the user agent's program name ("kubectl", "helm", "OpenAPI-Generator") as manager.
    return ua.split("/", 1)[0] if ua else "unknown"


def _spec_changed(new: Obj, old: Obj) -> bool:
    keys = (set(new) | set(old)) - {"metadata", "status", "apiVersion", "kind"}
    return any(new.get(k) != old.get(k) for k in keys)


def _same(new: Obj, old: Obj) -> bool:
    """True when an update would change nothing but managedFields timestamps."""
    if new.keys() != old.keys():
        return False
    for k in new:
        if k == "metadata":
            continue
        if new[k] != old[k]:
            return False
    nm, om = new["metadata"], old["metadata"]
    for k in set(nm) | set(om):
        if k == "resourceVersion":
            continue
        if k == "managedFields":
            if _strip_times(nm.get(k)) != _strip_times(om.get(k)):
                return False
            continue
        if nm.get(k) != om.get(k):
            return False
    return True


def _strip_times(mf: Any) -> Any:
    if not mf:
        return mf
    return [{k: v for k, v in e.items() if k != "time"} for e in mf]


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None and not k.startswith("$")}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _parse_time(value: str) -> datetime.datetime:
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return datetime.datetime.now(datetime.UTC)



def _short(obj: Obj) -> str:
    return orjson.dumps(obj).decode()[:200]


def parse_selectors(req: Request) -> tuple[selectors.LabelSelector | None, selectors.FieldSelector | None]:
    """The request's labelSelector and fieldSelector, or kube's 400 for bad or unsupported ones."""
    label_sel = field_sel = None
    ls = req.q("labelSelector")
    if ls:
        try:
            label_sel = selectors.LabelSelector.parse(ls)
        except selectors.SelectorError as e:
            raise errors.bad_request(str(e)) from None
    fs = req.q("fieldSelector")
    if fs:
        try:
            field_sel = selectors.FieldSelector.parse(fs)
        except selectors.SelectorError as e:
            raise errors.bad_request(str(e)) from None
        r = req.resource
        try:
            field_sel = selectors.convert_field_selector(
                field_sel, r.group, r.version, r.kind, custom_resource=r.is_custom, namespaced=r.namespaced
            )
        except selectors.SelectorError as e:
            raise errors.bad_request(str(e)) from None
    return label_sel, field_sel


def _get_path(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for part in path.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set_path(obj: Obj, path: str, value: Any) -> None:
    parts = path.strip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def to_scale(r: ResourceInfo, obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a scalable object (CRDs name their own replica paths)."""
    meta = obj["metadata"]
    info = r.scale or ScaleInfo()
    selector = ""
    sel: Any = _get_path(obj, info.label_selector) if info.label_selector else None
    if isinstance(sel, str):
        selector = sel
        sel = None
    if r.kind in ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController") and not r.is_custom:
        sel = (obj.get("spec") or {}).get("selector")
    if isinstance(sel, dict):
        # ReplicationControllers select with a plain map; the others with a LabelSelector.
        as_selector = sel if ("matchLabels" in sel or "matchExpressions" in sel) else {"matchLabels": sel}
        selector = str(selectors.from_label_selector_object(as_selector))
    out_status: Obj = {"replicas": int(_get_path(obj, info.status_replicas) or 0)}
    if selector:
        out_status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": int(_get_path(obj, info.spec_replicas) or 0)},
        "status": out_status,
    }
