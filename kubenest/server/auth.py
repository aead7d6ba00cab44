"""Authentication and authorization: pluggable steps of the request pipeline.

An `Authenticator` turns request headers into a `User` (or None: 401). An `Authorizer` decides
whether that user may do what a request asks. Both are small protocols so RBAC and SSO can replace
the defaults here without touching the pipeline.
"""

from __future__ import annotations

import hmac
from typing import Any, Protocol

from kubenest.api.request import Request, User


class Authenticator(Protocol):
    def authenticate(self, headers: dict[bytes, bytes]) -> User | None: ...


class Authorizer(Protocol):
    def authorize(self, req: Request) -> tuple[bool, str]:
        """May the request's user do what the request asks? (allowed, reason)"""

    def check(self, cluster: Any, attrs: Any) -> tuple[bool, str]:
        """The same decision for explicit attributes (access reviews, impersonation)."""

    def authorize_path(self, user: User, cluster: Any, verb: str, path: str) -> tuple[bool, str]:
        """A non-resource request (`get /version`, `get /apis`)."""


class TokenAuthenticator:
    """Bearer tokens from a static table (the admin credential, and tokens added at run time)."""

    def __init__(self, tokens: dict[str, User] | None = None) -> None:
        self.tokens: dict[str, User] = dict(tokens or {})

    def add(self, token: str, user: User) -> None:
        self.tokens[token] = user

    def authenticate(self, headers: dict[bytes, bytes]) -> User | None:
        auth = headers.get(b"authorization")
        if not auth or not auth[:7].lower() == b"bearer ":
            return None
        token = auth[7:].strip().decode("latin-1")
        user = self.tokens.get(token)
        if user is None:
            # Constant-time compare against nothing, so misses and hits take alike.
            hmac.compare_digest(token, token)
        return user


class AllowAll:
    """Every authenticated user may do everything (embedding and benchmarks without RBAC)."""

    def authorize(self, req: Request) -> tuple[bool, str]:
        return True, ""

    def check(self, cluster: Any, attrs: Any) -> tuple[bool, str]:
        return True, ""

    def authorize_path(self, user: User, cluster: Any, verb: str, path: str) -> tuple[bool, str]:
        return True, ""


ADMIN_GROUPS = ("system:masters", "system:authenticated")
