"""Create-only review resources: SelfSubjectReview, SelfSubjectAccessReview, SelfSubjectRulesReview,
SubjectAccessReview, TokenReview. They are answered, never stored.
"""

from __future__ import annotations

from typing import Any

from kubenest.api import errors
from kubenest.api.registry import decode_body
from kubenest.api.request import Request


async def handle(req: Request, app: Any) -> tuple[int, dict[str, Any]]:
    r = req.resource
    if req.subresource or req.verb != "create":
        raise errors.method_not_allowed()
    body = decode_body(req)
    user = req.user
    user_info = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        user_info["uid"] = user.uid
    if r.kind == "SelfSubjectReview":
        body["status"] = {"userInfo": user_info}
    elif r.kind in ("SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview"):
        allowed, reason = app.authorizer.authorize(req)
        body["status"] = {"allowed": allowed}
        if reason:
            body["status"]["reason"] = reason
    elif r.kind == "SelfSubjectRulesReview":
        body["status"] = {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    elif r.kind == "TokenReview":
        token = (body.get("spec") or {}).get("token", "")
        found = app.authenticator.authenticate({b"authorization": b"Bearer " + token.encode()})
        if found is None:
            body["status"] = {"authenticated": False, "user": {}}
        else:
            body["status"] = {"authenticated": True, "user": {"username": found.name, "groups": list(found.groups)}}
    else:
        raise errors.method_not_allowed()
    body.setdefault("metadata", {})
    return 201, body
