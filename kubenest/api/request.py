"""What a resource request asks for: parsed once from the URL, then passed down the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from kubenest.api.clusters import LogicalCluster
from kubenest.api.errors import bad_request
from kubenest.api.resources import ResourceInfo


@dataclass(slots=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    cluster: str | None = None  # a credential bound to one cluster, or None for all
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Request:
    method: str
    verb: str  # get list watch create update patch delete deletecollection
    cluster: LogicalCluster
    resource: ResourceInfo
    namespace: str  # "" for cluster-scoped or all-namespaces
    name: str
    subresource: str
    query: dict[str, str]
    headers: dict[bytes, bytes]
    user: User
    body: bytes = b""

    def q(self, key: str, default: str = "") -> str:
        return self.query.get(key, default)

    def int_param(self, key: str, default: int = 0) -> int:
        """An integer query parameter; a malformed one is kube's 400."""
        text = self.query.get(key, "")
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            raise bad_request(f'invalid value "{text}" for query parameter "{key}": not an integer') from None

    def flag(self, key: str) -> bool:
        return self.query.get(key, "").lower() in ("true", "1")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun", "") == "All"

    @property
    def content_type(self) -> str:
        return self.headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()

    @property
    def accept(self) -> str:
        return self.headers.get(b"accept", b"").decode("latin-1")

    @property
    def key(self) -> str:
        return self.resource.group_resource


def parse_query(raw: bytes) -> dict[str, str]:
    if not raw:
        return {}
    out: dict[str, str] = {}
    for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        out.setdefault(k, v)
    return out


Obj = dict[str, Any]
