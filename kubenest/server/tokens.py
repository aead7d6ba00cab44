"""Signed bearer tokens bound to one logical cluster (JWT, HS256).

Users' tokens (in the kubeconfigs kubenest hands out) and service account tokens (TokenRequest,
`kubectl create token`) are JWTs signed with the server's secret. A token names its cluster, so a
token of exp-1 gets 401 on exp-2; nothing is stored per token, so an idle cluster costs nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from typing import Any

import orjson

from kubenest.api.request import User

ISSUER = "https://kubernetes.default.svc.cluster.local"
CLUSTER_CLAIM = "kubenest.io/cluster"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))


class TokenIssuer:
    """Issues and verifies the server's signed tokens."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    @classmethod
    def from_dir(cls, data_dir: str) -> TokenIssuer:
        """The issuer whose key lives in `data_dir/token.key` (created on first use)."""
        path = os.path.join(data_dir, "token.key")
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        return cls(open(path, "rb").read())

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self.secret, signing_input.encode(), hashlib.sha256).digest())

    def issue(self, cluster: str, username: str, groups: tuple[str, ...] = (), uid: str = "",
              expires_in: int | None = None, audiences: list[str] | None = None,
              extra: dict[str, Any] | None = None) -> tuple[str, int | None]:
        """A token for `username` in `cluster`; returns (token, expiry as epoch seconds or None)."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": ISSUER, "sub": username, "iat": now, "nbf": now, CLUSTER_CLAIM: cluster,
                                  "jti": secrets.token_hex(8)}
        if groups:
            claims["groups"] = list(groups)
        if uid:
            claims["uid"] = uid
        if audiences:
            claims["aud"] = audiences
        exp = None
        if expires_in is not None:
            exp = now + expires_in
            claims["exp"] = exp
        if extra:
            claims.update(extra)
        payload = _b64(orjson.dumps(claims))
        signing_input = f"{_HEADER}.{payload}"
        return f"{signing_input}.{self._sign(signing_input)}", exp

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid, unexpired token of this server, or None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signing_input), parts[2]):
            return None
        try:
            claims: dict[str, Any] = orjson.loads(_unb64(parts[1]))
        except (ValueError, orjson.JSONDecodeError):
            return None
        exp = claims.get("exp")
        if isinstance(exp, int) and exp < time.time():
            return None
        return claims


class SignedTokenAuthenticator:
    """Authenticates the issuer's tokens as users bound to the token's cluster."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer

    def authenticate(self, headers: dict[bytes, bytes]) -> User | None:
        auth = headers.get(b"authorization")
        if not auth or auth[:7].lower() != b"bearer ":
            return None
        token = auth[7:].strip().decode("latin-1")
        if token.count(".") != 2:
            return None
        claims = self.issuer.verify(token)
        if claims is None or not isinstance(claims.get(CLUSTER_CLAIM), str):
            return None
        groups = tuple(claims.get("groups") or ())
        if "system:authenticated" not in groups:
            groups += ("system:authenticated",)
        return User(str(claims.get("sub", "")), groups, str(claims.get("uid", "")), claims[CLUSTER_CLAIM])


class ChainAuthenticator:
    """The first authenticator that recognises the request wins."""

    def __init__(self, *authenticators: Any) -> None:
        self.authenticators = authenticators

    def authenticate(self, headers: dict[bytes, bytes]) -> User | None:
        for a in self.authenticators:
            user = a.authenticate(headers)
            if user is not None:
                return user
        return None
