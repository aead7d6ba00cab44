"""Protocol details over raw HTTP: authentication, negotiation, Status errors, versions, discovery."""

from __future__ import annotations

import ssl

import httpx
import yaml

from kubenest.testing import ServerThread
from tests.conftest import Cluster, make_cluster

CMS = "/api/v1/namespaces/default/configmaps"


def _status(r: httpx.Response, code: int, reason: str) -> dict[str, object]:
    assert r.status_code == code, r.text
    body = r.json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason
    return body


def test_missing_or_wrong_token_is_401(server: ServerThread, cluster: Cluster) -> None:
    ctx = ssl.create_default_context(cafile=server.ca_path)
    with httpx.Client(verify=ctx) as c:
        _status(c.get(server.url(cluster.name) + "/api/v1/namespaces"), 401, "Unauthorized")
        r = c.get(server.url(cluster.name) + "/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
        _status(r, 401, "Unauthorized")


def test_unknown_cluster_and_unknown_resource_are_404(http: tuple[httpx.Client, str], server: ServerThread) -> None:
    c, base = http
    _status(c.get(server.url("no-such-cluster") + "/api/v1/namespaces"), 404, "NotFound")
    body = _status(c.get(base + "/api/v1/namespaces/default/widgets"), 404, "NotFound")
    assert body["message"] == "the server could not find the requested resource"
    _status(c.get(base + "/openapi/v4"), 404, "NotFound")


def test_yaml_bodies_are_accepted_and_yaml_answers_negotiated(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n"
    r = c.post(base + CMS, content=doc, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201 and r.json()["data"] == {"k": "v"}
    r = c.get(base + CMS + "/from-yaml", headers={"Accept": "application/yaml"})
    assert r.headers["content-type"] == "application/yaml"
    assert yaml.safe_load(r.text)["metadata"]["name"] == "from-yaml"


def test_cbor_bodies_get_415_and_garbage_gets_400(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    r = c.post(base + CMS, content=b"\xa1\x61a\x61b", headers={"Content-Type": "application/cbor"})
    _status(r, 415, "UnsupportedMediaType")
    r = c.post(base + CMS, content=b"{not json", headers={"Content-Type": "application/json"})
    _status(r, 400, "BadRequest")
    r = c.post(base + CMS, json={"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    body = _status(r, 400, "BadRequest")
    assert "does not match the expected API version" in str(body["message"])


def test_errors_carry_kube_details(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    body = _status(c.get(base + CMS + "/missing"), 404, "NotFound")
    assert body["message"] == 'configmaps "missing" not found'
    assert body["details"] == {"name": "missing", "kind": "configmaps"}
    c.post(base + CMS, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup"}})
    body = _status(c.post(base + CMS, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup"}}),
                   409, "AlreadyExists")
    assert body["message"] == 'configmaps "dup" already exists'
    r = c.post(base + "/api/v1/namespaces/nowhere/configmaps",
               json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    assert _status(r, 404, "NotFound")["message"] == 'namespaces "nowhere" not found'
    _status(c.put(base + CMS, json={}), 405, "MethodNotAllowed")


def test_generate_name_and_server_set_metadata(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    r = c.post(base + CMS, json={"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"generateName": "job-", "uid": "mine", "resourceVersion": "0"}})
    meta = r.json()["metadata"]
    assert r.status_code == 201 and meta["name"].startswith("job-") and len(meta["name"]) == 9
    assert meta["uid"] != "mine" and meta["creationTimestamp"].endswith("Z")
    # kube's storage refuses a create that carries a resourceVersion (kube answers it as a 500 without a
    # reason; kubenest as the client mistake it is)
    r = c.post(base + CMS, json={"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"generateName": "job-", "resourceVersion": "5"}})
    assert _status(r, 400, "BadRequest")["message"] == "resourceVersion should not be set on objects to be created"


def test_warn_field_validation_sends_warning_headers(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    r = c.post(base + CMS + "?fieldValidation=Warn",
               json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "bogus": 1})
    assert r.status_code == 201
    assert r.headers["warning"] == '299 - "unknown field \\"bogus\\""'
    r = c.post(base + CMS + "?fieldValidation=Strict",
               json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "bogus": 1})
    assert _status(r, 400, "BadRequest")["message"] == 'strict decoding error: unknown field "bogus"'


def test_each_cluster_serves_its_own_kubernetes_version(server: ServerThread, bins: tuple[str, str],
                                                        http: tuple[httpx.Client, str]) -> None:
    c, _ = http
    old = make_cluster(server, bins, "old-version", version="1.25")
    info = c.get(server.url(old.name) + "/version").json()
    assert (info["major"], info["minor"]) == ("1", "25")
    groups = {g["name"] for g in c.get(server.url(old.name) + "/apis").json()["groups"]}
    assert "resource.k8s.io" not in groups and "apps" in groups
    assert "flowcontrol.apiserver.k8s.io" in groups
    new_groups = {g["name"] for g in c.get(server.url("root") + "/apis").json()["groups"]}
    assert "resource.k8s.io" in new_groups


def test_aggregated_discovery_is_negotiated(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    r = c.get(base + "/apis", headers={"Accept": accept})
    assert r.headers["content-type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    apps = next(i for i in r.json()["items"] if i["metadata"]["name"] == "apps")
    deploy = next(x for x in apps["versions"][0]["resources"] if x["resource"] == "deployments")
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    assert {s["subresource"] for s in deploy["subresources"]} == {"status", "scale"}
    legacy = c.get(base + "/api", headers={"Accept": accept}).json()
    pods = next(x for x in legacy["items"][0]["versions"][0]["resources"] if x["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and "watch" in pods["verbs"]


def test_table_and_partial_metadata_negotiation(http: tuple[httpx.Client, str]) -> None:
    c, base = http
    c.post(base + CMS, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": {"a": "b"}})
    r = c.get(base + CMS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    table = r.json()
    assert table["kind"] == "Table" and [col["name"] for col in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [row["cells"][:2] for row in table["rows"]] == [["kube-root-ca.crt", 1], ["t", 1]]
    r = c.get(base + CMS, headers={"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"})
    assert r.json()["kind"] == "PartialObjectMetadataList" and "data" not in r.json()["items"][0]
    r = c.get(base + CMS, headers={"Accept": "application/vnd.kubernetes.protobuf"})
    _status(r, 406, "NotAcceptable")


def test_kubectl_get_wide_shows_priority_columns(cluster: Cluster) -> None:
    cluster.apply(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: app, image: nginx:1.27}]\n")
    header = cluster.kubectl("get", "deploy", "-o", "wide").stdout.splitlines()[0].split()
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert cluster.kubectl("get", "deploy").stdout.splitlines()[0].split() == [
        "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
