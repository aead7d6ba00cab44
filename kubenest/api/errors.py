"""`metav1.Status` errors, worded as kube-apiserver words them.

Handlers raise `ApiError`; the request pipeline turns it into a Status body with the same code.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered to the client as a `Status` object."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or []
        self.metadata: dict[str, Any] = {}  # ListMeta of the Status (a continue token on an expired list)

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = kind
    return d


def not_found(resource: str, group: str, name: str) -> ApiError:
    gr = qualified(resource, group)
    msg = f'{gr} "{name}" not found' if name else f"{gr} not found"
    return ApiError(404, "NotFound", msg, _details(name, group, resource))


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists', _details(name, group, resource)
    )


def conflict(resource: str, group: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        _details(name, group, resource),
    )


def conflict_modified(resource: str, group: str, name: str) -> ApiError:
    return conflict(
        resource, group, name, "the object has been modified; please apply your changes to the latest version and try again"
    )


def invalid(kind: str, group: str, name: str, causes: list[dict[str, Any]], message: str) -> ApiError:
    details = _details(name, group, kind)
    details["causes"] = [
        {"reason": c.get("type", "FieldValueInvalid"), "message": c.get("message", ""), "field": c.get("field", "")}
        for c in causes
    ]
    return ApiError(422, "Invalid", message, details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(accepted: str = "application/json, application/yaml") -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {accepted}",
    )


def not_acceptable(message: str) -> ApiError:
    return ApiError(406, "NotAcceptable", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def expired_rv(rv: int, oldest: int) -> ApiError:
    """A watch from `rv` when the history only reaches back to `oldest` (the watch cache's wording)."""
    return gone(f"too old resource version: {rv} ({oldest})")


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")
