"""CustomResourceDefinitions with real kubectl: discovery, validation, defaulting, subresources, cleanup."""

from __future__ import annotations

import json
import textwrap
import time

from tests.conftest import Cluster

CRD = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: trainings.ml.example.com
    spec:
      group: ml.example.com
      scope: Namespaced
      names:
        plural: trainings
        singular: training
        kind: Training
        shortNames: [tr]
        categories: [all]
      versions:
      - name: v1
        served: true
        storage: true
        subresources:
          status: {}
          scale:
            specReplicasPath: .spec.workers
            statusReplicasPath: .status.workers
        additionalPrinterColumns:
        - name: Model
          type: string
          jsonPath: .spec.model
        - name: Workers
          type: integer
          jsonPath: .spec.workers
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                required: [model]
                properties:
                  model: {type: string}
                  workers: {type: integer, minimum: 1, default: 1}
                  epochs: {type: integer, default: 10}
              status:
                type: object
                properties:
                  workers: {type: integer}
                  phase: {type: string}
    """
)

TRAINING = textwrap.dedent(
    """
    apiVersion: ml.example.com/v1
    kind: Training
    metadata:
      name: resnet
    spec:
      model: resnet50
      workers: 2
    """
)


def _install(cluster: Cluster) -> None:
    cluster.apply(CRD)
    cluster.kubectl("wait", "--for=condition=Established", "crd/trainings.ml.example.com", "--timeout=10s")


def test_crd_is_established_and_served_in_discovery(cluster: Cluster) -> None:
    _install(cluster)
    crd = cluster.json("get", "crd", "trainings.ml.example.com")
    conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conds == {"NamesAccepted": "True", "Established": "True"}
    resources = cluster.kubectl("api-resources", "--api-group=ml.example.com", "--no-headers").stdout
    assert resources.split()[:4] == ["trainings", "tr", "ml.example.com/v1", "true"]
    assert "ml.example.com/v1" in cluster.kubectl("api-versions").stdout.split()


def test_custom_resource_lifecycle_with_printer_columns_and_defaults(cluster: Cluster) -> None:
    _install(cluster)
    assert "training.ml.example.com/resnet created" in cluster.apply(TRAINING).stdout
    obj = cluster.json("get", "training", "resnet")
    assert obj["spec"] == {"model": "resnet50", "workers": 2, "epochs": 10}
    table = cluster.kubectl("get", "tr").stdout.splitlines()
    assert table[0].split() == ["NAME", "MODEL", "WORKERS", "AGE"]
    assert table[1].split()[:3] == ["resnet", "resnet50", "2"]
    assert "training.ml.example.com/resnet" in cluster.kubectl("get", "all").stdout


def test_custom_resource_validation_answers_422(cluster: Cluster) -> None:
    _install(cluster)
    bad = cluster.kubectl("apply", "-f", "-", input=TRAINING.replace("workers: 2", "workers: 0"), check=False)
    assert bad.returncode != 0
    assert "spec.workers" in bad.stderr and "should be greater than or equal to 1" in bad.stderr
    missing = cluster.kubectl("apply", "-f", "-", input=TRAINING.replace("  model: resnet50\n", ""), check=False)
    assert missing.returncode != 0 and "spec.model: Required value" in missing.stderr
    wrong_type = cluster.kubectl("apply", "-f", "-", input=TRAINING.replace("workers: 2", "workers: two"),
                                 check=False)
    assert wrong_type.returncode != 0 and "spec.workers" in wrong_type.stderr


def test_custom_resource_status_and_scale_subresources(cluster: Cluster) -> None:
    _install(cluster)
    cluster.apply(TRAINING)
    # The main resource ignores status; the status subresource ignores spec.
    cluster.kubectl("patch", "training", "resnet", "--type=merge", "-p", '{"status":{"phase":"Running"}}')
    assert "status" not in cluster.json("get", "training", "resnet")
    cluster.kubectl("patch", "training", "resnet", "--subresource=status", "--type=merge",
                    "-p", '{"status":{"phase":"Running","workers":2},"spec":{"model":"changed"}}')
    obj = cluster.json("get", "training", "resnet")
    assert obj["status"] == {"phase": "Running", "workers": 2} and obj["spec"]["model"] == "resnet50"
    cluster.kubectl("scale", "training", "resnet", "--replicas=5")
    assert cluster.json("get", "training", "resnet")["spec"]["workers"] == 5
    scale = json.loads(cluster.kubectl("get", "--raw",
                                       "/apis/ml.example.com/v1/namespaces/default/trainings/resnet/scale").stdout)
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 5 and scale["status"]["replicas"] == 2


def test_deleting_a_crd_deletes_its_objects(cluster: Cluster) -> None:
    _install(cluster)
    cluster.apply(TRAINING)
    cluster.kubectl("delete", "crd", "trainings.ml.example.com", "--timeout=20s")
    deadline = time.time() + 10
    while time.time() < deadline:
        if "ml.example.com" not in cluster.kubectl("api-versions").stdout:
            break
        time.sleep(0.2)
    assert "ml.example.com/v1" not in cluster.kubectl("api-versions").stdout.split()
    # Recreating the CRD shows no leftover objects.
    _install(cluster)
    assert cluster.kubectl("get", "trainings", "-o", "name").stdout.strip() == ""


def test_crds_are_per_cluster(cluster: Cluster, bins: tuple[str, str]) -> None:
    from tests.conftest import make_cluster

    other = make_cluster(cluster.server, bins, "crd-other")
    _install(cluster)
    assert "ml.example.com" not in other.kubectl("api-versions").stdout
    missing = other.kubectl("get", "trainings", check=False)
    assert missing.returncode != 0 and "the server doesn't have a resource type" in missing.stderr


def test_explain_works_for_builtins_and_custom_resources(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "pods.spec.containers").stdout
    assert "KIND:       Pod" in out and "image" in out
    assert "replicas" in cluster.kubectl("explain", "deployment", "--recursive").stdout
    _install(cluster)
    tr = cluster.kubectl("explain", "training.spec").stdout
    assert "model" in tr and "workers" in tr


def test_cluster_scoped_crd(cluster: Cluster) -> None:
    crd = CRD.replace("trainings", "datasets").replace("training", "dataset").replace("Training", "Dataset") \
        .replace("scope: Namespaced", "scope: Cluster").replace("shortNames: [tr]", "shortNames: [ds2]")
    cluster.apply(crd)
    cluster.kubectl("wait", "--for=condition=Established", "crd/datasets.ml.example.com", "--timeout=10s")
    cluster.apply(TRAINING.replace("Training", "Dataset").replace("name: resnet", "name: imagenet"))
    obj = cluster.json("get", "dataset", "imagenet")
    assert "namespace" not in obj["metadata"]
