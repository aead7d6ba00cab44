"""`kubectl apply -f` of `kind: List` files: kubectl validates them client-side against /openapi/v2.

kubectl cannot ask the server to validate a List (it is no served kind), so it fetches the cluster's
OpenAPI v2 document as gnostic protobuf and validates each item against the definition of its kind.
"""

from __future__ import annotations

import os
import textwrap

import httpx
import yaml

from tests.conftest import Cluster

PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

LIST = textwrap.dedent(
    """
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {mode: fast}
    - apiVersion: v1
      kind: Secret
      metadata: {name: token}
      type: Opaque
      data: {value: czNjcjN0}
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, labels: {app: web}}
      spec:
        replicas: 1
        strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}}
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
            - name: web
              image: nginx:1.27
              ports: [{containerPort: 80}]
              resources: {limits: {cpu: 500m, memory: 128Mi}}
    """
)

CRD = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: gadgets.toys.example.com
    spec:
      group: toys.example.com
      scope: Namespaced
      names: {plural: gadgets, singular: gadget, kind: Gadget}
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                required: [size]
                properties:
                  size: {type: integer}
                  port: {x-kubernetes-int-or-string: true}
                  note: {type: string, nullable: true}
                  extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
                  tags: {type: array, items: {type: string}}
    """
)


def _gadget(name: str, spec: str) -> str:
    return (
        f"- apiVersion: toys.example.com/v1\n  kind: Gadget\n  metadata: {{name: {name}}}\n  spec: {spec}\n"
    )


def test_apply_list_creates_items_and_reapply_is_unchanged(cluster: Cluster) -> None:
    out = cluster.apply(LIST).stdout
    assert "configmap/settings created" in out
    assert "secret/token created" in out
    assert "deployment.apps/web created" in out
    assert cluster.json("get", "configmap", "settings")["data"] == {"mode": "fast"}

    again = cluster.apply(LIST).stdout
    assert "configmap/settings unchanged" in again
    assert "secret/token unchanged" in again
    assert "deployment.apps/web unchanged" in again

    changed = cluster.apply(LIST.replace("mode: fast", "mode: slow")).stdout
    assert "configmap/settings configured" in changed
    assert cluster.json("get", "configmap", "settings")["data"] == {"mode": "slow"}


def test_get_yaml_then_apply_round_trips_through_a_list_file(cluster: Cluster, tmp_path: object) -> None:
    cluster.kubectl("create", "configmap", "app-config", "--from-literal=level=debug")
    cluster.kubectl("create", "deployment", "api", "--image=nginx:1.27", "--replicas=2")
    path = os.path.join(str(tmp_path), "saved.yaml")
    saved = cluster.kubectl("get", "configmap/app-config", "deployment/api", "-o", "yaml").stdout
    doc = yaml.safe_load(saved)
    # The file kubectl writes: a List whose items carry status, uid and timestamps.
    assert doc["kind"] == "List" and "status" in doc["items"][1] and "uid" in doc["items"][0]["metadata"]
    with open(path, "w") as f:
        f.write(saved)

    # Applied back while the objects exist: every item validates and is patched.
    out = cluster.kubectl("apply", "-f", path).stdout
    assert "configmap/app-config configured" in out and "deployment.apps/api configured" in out

    cluster.kubectl("delete", "-f", path)
    assert "NotFound" in cluster.kubectl("get", "configmap", "app-config", check=False).stderr
    # kube refuses to create an object that still carries a resourceVersion; drop it as users must.
    for item in doc["items"]:
        item["metadata"].pop("resourceVersion", None)
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    out = cluster.kubectl("apply", "-f", path).stdout
    assert "configmap/app-config created" in out and "deployment.apps/api created" in out
    assert cluster.json("get", "configmap", "app-config")["data"] == {"level": "debug"}
    assert cluster.json("get", "deployment", "api")["spec"]["replicas"] == 2


def test_invalid_list_item_is_refused_with_kubectl_validation_errors(cluster: Cluster) -> None:
    bad = LIST.replace("data: {mode: fast}", "data: {mode: fast}\n  colour: blue").replace(
        "containerPort: 80", 'containerPort: "eighty"'
    )
    proc = cluster.kubectl("apply", "-f", "-", input=bad, check=False)
    assert proc.returncode == 1
    assert (
        'error validating "STDIN": error validating data: ['
        'ValidationError(ConfigMap): unknown field "colour" in io.k8s.api.core.v1.ConfigMap, '
        "ValidationError(Deployment.spec.template.spec.containers[0].ports[0].containerPort): "
        'invalid type for io.k8s.api.core.v1.ContainerPort.containerPort: got "string", expected "integer"]; '
        "if you choose to ignore these errors, turn validation off with --validate=false"
    ) in proc.stderr
    # Nothing of the list was created.
    assert "NotFound" in cluster.kubectl("get", "configmap", "settings", check=False).stderr

    missing = LIST.replace("      - name: web\n          image", "      - image")
    proc = cluster.kubectl("apply", "-f", "-", input=missing, check=False)
    assert proc.returncode == 1
    assert (
        'ValidationError(Deployment.spec.template.spec.containers[0]): missing required field "name" in '
        "io.k8s.api.core.v1.Container"
    ) in proc.stderr

    # --validate=false skips client-side validation (the server still prunes and refuses nothing here).
    out = cluster.kubectl("apply", "--validate=false", "-f", "-", input=bad.replace('"eighty"', "80")).stdout
    assert "configmap/settings created" in out


def test_list_of_custom_resources_validates_against_the_clusters_crd(cluster: Cluster) -> None:
    cluster.apply(CRD)
    cluster.kubectl("wait", "--for=condition=Established", "crd/gadgets.toys.example.com", "--timeout=10s")
    good = (
        "apiVersion: v1\nkind: List\nitems:\n"
        + _gadget("a", "{size: 1, port: 8080, note: null, extra: {anything: [1, 2]}, tags: [x]}")
        + _gadget("b", "{size: 2, port: http}")
    )
    out = cluster.kubectl("apply", "-f", "-", input=good).stdout
    assert "gadget.toys.example.com/a created" in out and "gadget.toys.example.com/b created" in out
    assert cluster.json("get", "gadget", "b")["spec"]["port"] == "http"

    bad = "apiVersion: v1\nkind: List\nitems:\n" + _gadget("c", "{size: 1, colour: red}") + _gadget("d", "{}")
    proc = cluster.kubectl("apply", "-f", "-", input=bad, check=False)
    assert proc.returncode == 1
    assert (
        'ValidationError(Gadget.spec): unknown field "colour" in com.example.toys.v1.Gadget.spec'
        in proc.stderr
    )
    assert (
        'ValidationError(Gadget.spec): missing required field "size" in com.example.toys.v1.Gadget.spec'
        in (proc.stderr)
    )


def test_openapi_v2_is_per_cluster_in_json_and_protobuf_with_etag(
    cluster: Cluster, http: tuple[httpx.Client, str]
) -> None:
    client, base = http
    plain = client.get(f"{base}/openapi/v2", headers={"Accept": "application/json"})
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    doc = plain.json()
    assert doc["swagger"] == "2.0" and doc["info"]["version"] == "v1.37.0"
    cm = doc["definitions"]["io.k8s.api.core.v1.ConfigMap"]
    assert cm["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "ConfigMap", "version": "v1"}]
    assert doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"]["$ref"] == (
        "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"
    )
    assert not any(name.startswith("com.example.toys") for name in doc["definitions"])

    pb = client.get(f"{base}/openapi/v2", headers={"Accept": PROTOBUF})
    assert pb.status_code == 200
    assert pb.headers["content-type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert pb.headers["etag"] == plain.headers["etag"] and pb.content.startswith(b"\n\x032.0")
    cached = client.get(
        f"{base}/openapi/v2", headers={"Accept": PROTOBUF, "If-None-Match": pb.headers["etag"]}
    )
    assert cached.status_code == 304 and cached.content == b""
    assert client.get(f"{base}/openapi/v2", headers={"Accept": "text/html"}).status_code == 406

    # A CRD of this cluster joins its document (and changes its ETag); other clusters do not see it.
    cluster.apply(CRD)
    cluster.kubectl("wait", "--for=condition=Established", "crd/gadgets.toys.example.com", "--timeout=10s")
    mine = client.get(f"{base}/openapi/v2")
    gadget = mine.json()["definitions"]["com.example.toys.v1.Gadget"]
    assert gadget["properties"]["spec"]["required"] == ["size"]
    assert "type" not in gadget["properties"]["spec"]["properties"]["port"]
    assert mine.headers["etag"] != plain.headers["etag"]
    other = client.get(base.replace(f"/clusters/{cluster.name}", "/clusters/root") + "/openapi/v2")
    assert other.status_code == 200 and "com.example.toys.v1.Gadget" not in other.json()["definitions"]


def test_any_authenticated_user_may_read_openapi_v2(cluster: Cluster) -> None:
    # system:discovery grants the /openapi/* nonResourceURLs to system:authenticated, as in kube.
    assert cluster.kubectl("auth", "can-i", "get", "/openapi/v2", "--as=jane").stdout.strip() == "yes"
    raw = cluster.kubectl("get", "--raw", "/openapi/v2", "--as=jane").stdout
    assert '"io.k8s.api.core.v1.ConfigMap"' in raw
    # And jane's kubectl validates a List before the server refuses her the write.
    bad = LIST.replace("data: {mode: fast}", "data: {mode: fast}\n  colour: blue")
    proc = cluster.kubectl("apply", "-f", "-", "--as=jane", input=bad, check=False)
    assert 'ValidationError(ConfigMap): unknown field "colour"' in proc.stderr
