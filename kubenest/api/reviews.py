"""Create-only review resources: SelfSubjectReview, SelfSubjectAccessReview, SelfSubjectRulesReview,
SubjectAccessReview, TokenReview. They are answered, never stored.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from kubenest.api import binding, errors, rbac, strategy
from kubenest.api.clusters import now_rfc3339
from kubenest.api.registry import decode_body
from kubenest.api.request import Request


async def handle(req: Request, app: Any) -> tuple[int, dict[str, Any]]:
    r = req.resource
    if req.subresource == "token" and r.kind == "ServiceAccount" and req.verb == "create":
        return token_request(req, app)
    if binding.is_binding(req):
        return await binding.create(req, app)
    if req.subresource or req.verb != "create":
        raise errors.method_not_allowed()
    body = decode_body(req)
    strategy.for_resource(r).decode_check(r, body, app.registry.ctx(req))
    user = req.user
    user_info = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        user_info["uid"] = user.uid
    if r.kind == "SelfSubjectReview":
        body["status"] = {"userInfo": user_info}
    elif r.kind in ("SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview"):
        spec = body.get("spec") or {}
        subject = user if r.kind == "SelfSubjectAccessReview" else rbac.user_from_review_spec(spec)
        attrs = rbac.attributes_from_review_spec(subject, spec)
        if r.kind == "LocalSubjectAccessReview":
            attrs = dataclasses.replace(attrs, namespace=req.namespace)
        allowed, reason = app.authorizer.check(req.cluster, attrs)
        body["status"] = rbac.access_review_status(allowed, reason)
    elif r.kind == "SelfSubjectRulesReview":
        namespace = (body.get("spec") or {}).get("namespace", "")
        body["status"] = app.authorizer.rules_review_status(user, req.cluster, namespace)
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


DEFAULT_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600


def token_request(req: Request, app: Any) -> tuple[int, dict[str, Any]]:
    """TokenRequest: a signed token for an existing service account, bound to this cluster."""
    sa = app.store.get(req.cluster.name, "serviceaccounts", req.namespace, req.name)
    if sa is None:
        raise errors.not_found("serviceaccounts", "", req.name)
    body = decode_body(req) if req.body else {}
    spec = dict(body.get("spec") or {})
    seconds = int(spec.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS)
    if seconds < MIN_TOKEN_SECONDS:
        raise errors.invalid("TokenRequest", "authentication.k8s.io", req.name,
                             [{"type": "FieldValueInvalid", "field": "spec.expirationSeconds"}],
                             f'TokenRequest.authentication.k8s.io "{req.name}" is invalid: spec.expirationSeconds: '
                             f"Invalid value: {seconds}: may not specify a duration less than 10 minutes")
    ns, name, uid = req.namespace, req.name, sa.obj["metadata"].get("uid", "")
    audiences = list(spec.get("audiences") or [tokens_audience()])
    token, exp = app.tokens.issue(
        req.cluster.name, f"system:serviceaccount:{ns}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"), uid=uid,
        expires_in=seconds, audiences=audiences,
        extra={"kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}}},
    )
    spec["audiences"] = audiences
    spec["expirationSeconds"] = seconds
    return 201, {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": now_rfc3339()},
        "spec": spec,
        "status": {"token": token,
                   "expirationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp or 0))},
    }


def tokens_audience() -> str:
    return "https://kubernetes.default.svc.cluster.local"
