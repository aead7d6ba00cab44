"""Client mistakes get kube's Status answers with 4xx codes: never a 500, a traceback or a hang."""

from __future__ import annotations

import httpx
import pytest

CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
JSON = "application/json"

CASES = [
    ("GET", CM + "?limit=abc", None, None, 400),
    ("GET", CM + "?watch=1&resourceVersion=abc", None, None, 400),
    ("GET", CM + "?watch=1&timeoutSeconds=abc", None, None, 400),
    ("GET", CM + "?labelSelector=a%3D%3D%3Db", None, None, 400),
    ("GET", CM + "?continue=%25%25%25", None, None, 400),
    ("PATCH", CM + "/x", b'[{"op":"bogus"}]', "application/json-patch+json", 422),
    ("PATCH", CM + "/x", b"not json", "application/merge-patch+json", 400),
    ("PATCH", CM + "/x", b'{"data":5}', "application/merge-patch+json", 400),
    ("PATCH", CM + "/x", b"kind: [", "application/apply-patch+yaml", 400),
    ("PATCH", CM + "/x", b"{}", "text/plain", 415),
    ("PUT", CM + "/x", b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","resourceVersion":"abc"}}',
     JSON, 400),
    ("PUT", CM + "/x", b"[]", JSON, 400),
    ("POST", CM, b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"z","labels":"bad"}}', JSON, 400),
    ("POST", CM, b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"z"},"data":[1]}', JSON, 400),
    ("POST", PODS, b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":"x"}}', JSON, 400),
    ("POST", PODS, b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}',
     JSON, 422),
    ("POST", "/apis/apps/v1/namespaces/default/deployments",
     b'{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":"three"}}', JSON, 400),
    # kube decodes the whole body first: fields the create then drops or fills in, and a missing
    # namespace, do not hide a value Go's decoder refuses.
    ("POST", PODS, b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c",'
     b'"image":"x"}]},"status":{"phase":5}}', JSON, 400),
    ("POST", CM, b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"g","generation":"one"}}', JSON, 400),
    ("POST", "/api/v1/namespaces/nowhere/configmaps", b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n"},'
     b'"data":[1]}', JSON, 400),
    ("POST", PODS, b"\x00\x01", "application/vnd.kubernetes.protobuf", 400),
    ("POST", CM, b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"rv","resourceVersion":"12"}}', JSON, 400),
    ("DELETE", CM + "/x?propagationPolicy=Sideways", None, None, 422),
    ("DELETE", CM + "/x?gracePeriodSeconds=abc", None, None, 400),
    ("DELETE", CM + "/x", b"not json", JSON, 400),
    ("GET", "/apis/apps/v1/namespaces/default/deployments/nope/scale", None, None, 404),
    ("POST", "/api/v1/namespaces/default/serviceaccounts/none/token", b"{}", JSON, 404),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", b'{"spec":5}', JSON, 400),
    ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
     b'{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"},"rules":"all"}',
     JSON, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type", "code"), CASES,
                         ids=[f"{c[0]} {c[1][:50]}" for c in CASES])
def test_client_mistakes_get_a_status_with_the_right_code(http: tuple[httpx.Client, str], method: str, path: str,
                                                         body: bytes | None, content_type: str | None,
                                                         code: int) -> None:
    c, base = http
    c.post(base + CM, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    headers = {"Content-Type": content_type} if content_type else {}
    r = c.request(method, base + path, content=body, headers=headers, timeout=10)
    assert r.status_code == code, r.text
    status = r.json()
    assert status["kind"] == "Status" and status["code"] == code and status["message"]
