"""Random objects for differential tests: schema-guided values of built-in kinds, sometimes malformed."""

from __future__ import annotations

import copy
import random
from typing import Any

from kubenest.api import schema


def random_value(node: dict[str, Any], resolve: Any, rng: random.Random, depth: int) -> Any:
    """A schema-guided value, sometimes malformed: nulls, wrong types, duplicated or keyless list items."""
    node = resolve(node)
    roll = rng.random()
    if depth > 6 or roll < 0.03:
        return None if roll < 0.03 else rng.choice(["a", "TCP"])
    if roll < 0.06:
        return rng.choice([1, "s", [], {}, True, 2.5, [1, 1], {"k": None}])
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in node or "additionalProperties" in node:
        props = node.get("properties") or {}
        out: dict[str, Any] = {}
        for key in rng.sample(sorted(props), min(len(props), rng.randint(0, 8))):
            out[key] = random_value(props[key], resolve, rng, depth + 1)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and (not props or rng.random() < 0.3):
            for i in range(rng.randint(0, 3)):
                out[rng.choice(["a", "b", "web"]) + str(i)] = random_value(extra, resolve, rng, depth + 1)
        if not props and not isinstance(extra, dict) and rng.random() < 0.5:
            out["free"] = rng.choice([1, "x", {"n": [1, {"z": None}]}, [], None])
        return out
    if kind == "array":
        items = [random_value(node.get("items") or {}, resolve, rng, depth + 1) for _ in range(rng.randint(0, 3))]
        if items and rng.random() < 0.2:
            items.append(copy.deepcopy(items[0]))  # a duplicate key or set value
        if items and rng.random() < 0.1:
            items.append(rng.choice([{"junk": 1}, "scalar", None]))  # an item without its key
        return items
    if kind == "integer":
        return rng.choice([0, 1, 80, 443])
    if kind == "boolean":
        return rng.choice([True, False])
    return rng.choice(["a", "b", "web", "TCP", "UDP", "80", 80])


SHAPES = [("", "v1", "Pod"), ("apps", "v1", "Deployment"), ("", "v1", "Service"), ("apps", "v1", "StatefulSet"),
           ("batch", "v1", "CronJob"), ("", "v1", "ConfigMap"), ("", "v1", "Secret"), ("networking.k8s.io", "v1",
           "Ingress"), ("networking.k8s.io", "v1", "NetworkPolicy"), ("rbac.authorization.k8s.io", "v1", "Role"),
           ("", "v1", "PersistentVolumeClaim"), ("", "v1", "ReplicationController"), ("", "v1", "Endpoints"),
           ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"), ("autoscaling", "v2", "HorizontalPodAutoscaler")]


def variant(v: Any, rng: random.Random) -> Any:
    """v with the same keys and other scalars: mostly of the same JSON type, sometimes of another."""
    if isinstance(v, dict):
        return {k: variant(x, rng) for k, x in v.items()}
    if isinstance(v, list):
        return [variant(x, rng) for x in v]
    if rng.random() < 0.2:
        return rng.choice([None, "", "s", 0, 3, True, False, 1.5, {}, []])
    if isinstance(v, bool):
        return not v
    if isinstance(v, str):
        return rng.choice(["", "other", "TCP", "x" * 70, "80"])
    if isinstance(v, int):
        return rng.choice([0, 7, 65536, -1])
    return v


def nth_kind(s: schema.Schemas, kinds: list[tuple[str, str, str]], i: int) -> tuple[str, str, str, dict[str, Any]]:
    """The i-th of `kinds` (cycling): group, version, kind and the kind's schema node."""
    group, version, kind = kinds[i % len(kinds)]
    node = s.for_kind(group, version, kind)
    assert node is not None
    return group, version, kind, node


def random_object(node: dict[str, Any], resolve: Any, rng: random.Random) -> dict[str, Any]:
    """A random value of the schema node, as an object (an empty one when the roll gave something else)."""
    obj = random_value(node, resolve, rng, 0)
    return obj if isinstance(obj, dict) else {}
