"""ControllerRevisions: the revision history StatefulSets and DaemonSets keep (kube's pkg/controller/history).

A revision stores, in `data`, a strategic merge patch that puts a pod template back:
`{"spec":{"template":{..., "$patch":"replace"}}}`, encoded as Go's encoding/json encodes a
map (sorted keys, compact, HTML-escaped). kubectl compares those bytes with its own encoding of the
live object (`rollout undo` says "skipped" when they are equal) and applies them as a patch, so the
encoding must be Go's byte for byte. Revisions are named `<owner>-<hash>`, labelled with the
owner's template labels plus the hash, and numbered 1, 2, 3, ... in the order they were current.
"""

from __future__ import annotations

import decimal
import math
import struct
from collections.abc import Iterable
from typing import Any

import orjson

from kubenest.api.errors import ApiError
from kubenest.api.names import safe_encode
from kubenest.api.selectors import LabelSelector
from kubenest.controllers import podutil
from kubenest.controllers.client import Client

Obj = dict[str, Any]

HASH_LABEL = "controller.kubernetes.io/hash"
REVISION_RESOURCE = "controllerrevisions.apps"
_MAX_PREFIX = 223  # a revision name stays within 253 characters


# -- Go's encoding/json ---------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
            "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_string(s: str) -> str:
    out = ['"']
    for ch in s:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _go_float(f: float) -> str:
    """A float64 as Go's encoding/json writes it: shortest digits, exponent only below 1e-6 or from 1e21."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {f}")
    if f == 0:
        return "0" if math.copysign(1.0, f) > 0 else "-0"
    a = abs(f)
    if 1e-6 <= a < 1e21:
        return format(decimal.Decimal(repr(f)), "f")
    mantissa, _, exp = repr(f).partition("e")
    if not exp:  # repr chose positional form; Go wants the exponent here
        mantissa, _, exp = f"{f:e}".partition("e")
    sign = "-" if exp.startswith("-") else "+"
    return f"{mantissa}e{sign}{int(exp.lstrip('+-')):02d}".replace("e+0", "e+").replace("e-0", "e-")


def go_json(value: Any) -> bytes:
    """`json.Marshal` of a decoded JSON value (map[string]interface{}): sorted keys, no spaces."""
    return _encode(value).encode()


def _encode(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return _go_string(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        # Decoded JSON numbers are float64 in Go; integral ones print without a fraction.
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return _go_float(v)
    if isinstance(v, dict):
        return "{" + ",".join(f"{_go_string(k)}:{_encode(v[k])}" for k in sorted(v)) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_encode(x) for x in v) + "]"
    raise TypeError(f"cannot encode {type(v).__name__}")


# -- hashes ---------------------------------------------------------------------------------------

def fnv32(data: bytes) -> int:
    """FNV-1 (not 1a), 32 bits: Go's hash/fnv.New32, which HashControllerRevision uses."""
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bits: Go's hash/fnv.New32a, which ComputeHash uses."""
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h




def hash_revision(data: bytes, probe: int | None) -> str:
    """HashControllerRevision: FNV-1 of the revision's data, then of the collision count in decimal."""
    payload = data if probe is None else data + str(probe).encode()
    return safe_encode(str(fnv32(payload)))


def template_hash(template: Obj, collision_count: int | None) -> str:
    """The hash of a pod template with a collision count, as kube's controller.ComputeHash.

    kube hashes a debug print of the Go struct, which no other program can reproduce; the canonical
    JSON of the template stands in for it, so equal templates still get equal hashes.
    """
    payload = go_json(template)
    if collision_count is not None:
        payload += struct.pack("<I", collision_count & 0xFFFFFFFF)
    return safe_encode(str(fnv32a(payload)))


def revision_name(prefix: str, hash_: str) -> str:
    return f"{prefix[:_MAX_PREFIX]}-{hash_}"


# -- revision objects ------------------------------------------------------------------------------

def template_patch(obj: Obj) -> bytes:
    """getPatch: the bytes of a patch that replaces the object's pod template with its current one."""
    template = dict((obj.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return go_json({"spec": {"template": template}})


def data_bytes(revision: Obj) -> bytes:
    """The revision's data as Go would hold it in Data.Raw."""
    return go_json(revision.get("data"))


def new_revision(owner: Obj, data: bytes, revision: int, collision_count: int | None,
                 annotations: dict[str, str] | None = None) -> Obj:
    """NewControllerRevision: owned by `owner`, labelled with its template labels and the data's hash."""
    labels = dict((((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})
    hash_ = hash_revision(data, collision_count)
    labels[HASH_LABEL] = hash_
    meta: Obj = {"name": revision_name(owner["metadata"]["name"], hash_),
                 "namespace": owner["metadata"].get("namespace", ""), "labels": labels,
                 "ownerReferences": [podutil.owner_reference(owner)]}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
            "data": orjson.loads(data), "revision": revision}


def sort_key(rev: Obj) -> tuple[int, str, str]:
    """Ordered by revision number, then creation time, then name (history.SortControllerRevisions)."""
    meta = rev["metadata"]
    return (int(rev.get("revision", 0)), meta.get("creationTimestamp", ""), meta.get("name", ""))


def sorted_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    return sorted(revisions, key=sort_key)


def equal_revision(a: Obj | None, b: Obj | None) -> bool:
    """Same data (and, when both carry one, the same hash label)."""
    if a is None or b is None:
        return a is b
    ha = (a["metadata"].get("labels") or {}).get(HASH_LABEL)
    hb = (b["metadata"].get("labels") or {}).get(HASH_LABEL)
    if ha is not None and hb is not None and ha != hb:
        return False
    return data_bytes(a) == data_bytes(b)


def find_equal_revisions(revisions: list[Obj], needle: Obj) -> list[Obj]:
    return [r for r in revisions if equal_revision(r, needle)]


def next_revision(revisions: list[Obj]) -> int:
    """One more than the highest revision number (revisions sorted), 1 for none."""
    return int(revisions[-1].get("revision", 0)) + 1 if revisions else 1


def apply_revision(obj: Obj, revision: Obj) -> Obj:
    """The object with its pod template put back as `revision` recorded it (the patch replaces it whole)."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    out = dict(obj)
    out["spec"] = dict(obj.get("spec") or {}, template=template)
    return out


# -- revisions in the store ------------------------------------------------------------------------

def list_revisions(client: Client, cluster: str, owner: Obj, selector: LabelSelector) -> list[Obj]:
    """Revisions in the owner's namespace matching `selector`, owned by `owner` or by no controller."""
    uid = owner["metadata"]["uid"]
    out = []
    for rev in client.list(cluster, REVISION_RESOURCE, owner["metadata"].get("namespace", ""), selector):
        ref = podutil.controller_ref(rev)
        if ref is None or ref.get("uid") == uid:
            out.append(rev)
    return out


async def claim_revisions(client: Client, cluster: str, owner: Obj, selector: LabelSelector) -> list[Obj]:
    """Revisions the owner controls, adopting matching orphans and releasing owned ones that no longer match.

    As kube's ControllerRevisionControllerRefManager (DaemonSets): nothing is adopted while the owner
    is being deleted.
    """
    uid = owner["metadata"]["uid"]
    deleting = bool(owner["metadata"].get("deletionTimestamp"))
    out = []
    for rev in client.list(cluster, REVISION_RESOURCE, owner["metadata"].get("namespace", "")):
        ref = podutil.controller_ref(rev)
        matches = selector.matches(rev["metadata"].get("labels"))
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                out.append(rev)
            elif not deleting:
                await release(client, cluster, rev, uid)
        elif matches and not deleting and not rev["metadata"].get("deletionTimestamp"):
            adopted = await adopt(client, cluster, owner, rev)
            if adopted is not None:
                out.append(adopted)
    return out


adopt = podutil.adopt
release = podutil.release


async def create_revision(client: Client, cluster: str, owner: Obj, revision: Obj,
                          collision_count: int) -> tuple[Obj, int]:
    """Create `revision`, renaming it on a name collision with different data.

    Returns the stored revision (an existing one with the same data counts) and the collision count,
    raised once per collision, which the owner records in its status.
    """
    data = data_bytes(revision)
    while True:
        hash_ = hash_revision(data, collision_count)
        candidate = client.copy(revision)
        candidate["metadata"]["name"] = revision_name(owner["metadata"]["name"], hash_)
        candidate["metadata"]["labels"][HASH_LABEL] = hash_
        try:
            return await client.create(cluster, candidate), collision_count
        except ApiError as e:
            if e.code != 409:
                raise
        existing = client.get(cluster, REVISION_RESOURCE, candidate["metadata"]["namespace"],
                              candidate["metadata"]["name"])
        if existing is not None and data_bytes(existing) == data:
            return existing, collision_count
        collision_count += 1


async def renumber(client: Client, cluster: str, revision: Obj, number: int) -> Obj:
    """Give an existing revision a new revision number (a rollback to an earlier template)."""
    if int(revision.get("revision", 0)) == number:
        return revision
    upd = client.copy(revision)
    upd["revision"] = number
    return await client.update(cluster, upd)


async def delete_revision(client: Client, cluster: str, revision: Obj) -> None:
    await client.delete(cluster, revision)


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of `total` rounded up or down.

    Shared by both controllers' rolling updates (maxUnavailable, maxSurge); ValueError when invalid.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].lstrip("-").isdigit():
        scaled = int(value[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
