"""Validation worded as kube-apiserver words it: names, metadata, built-in kinds, decoding, custom resources."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from kubenest.api import schema
from kubenest.api import validation as v
from tests.unit.random_objects import SHAPES, nth_kind, random_object, variant

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
KEY_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
QUANTITY_MSG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


@pytest.fixture(scope="module")
def s137() -> schema.Schemas:
    return schema.load("1.37")


def texts(errors: list[v.FieldError]) -> list[str]:
    return [v.error_text(e) for e in errors]


def full_check(obj: dict[str, Any], kind: str, group: str, namespaced: bool = True,
               old: dict[str, Any] | None = None) -> list[str]:
    """Metadata then kind-specific checks, as the request pipeline composes them."""
    errs = v.validate_object_meta(obj, namespaced, v.name_rule(kind, group), old=old)
    return texts(errs + v.validate_builtin(obj, kind, group, old))


def pod(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": body}


def deployment(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}},
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": body}


# ---- names and labels -------------------------------------------------------------------------------


def test_subdomain_name_message_is_upstream_wording() -> None:
    assert v.name_errors("Bad_Name", "dns1123subdomain") == [SUBDOMAIN_MSG]
    assert v.name_errors("good.name-1", "dns1123subdomain") == []


def test_long_names_report_length_in_characters() -> None:
    assert v.name_errors("a" * 254, "dns1123subdomain") == ["must be no more than 253 characters"]
    assert v.name_errors("a" * 64, "dns1123label") == ["must be no more than 63 characters"]


def test_label_rule_reports_dots_apart_from_syntax() -> None:
    assert v.name_errors("my.name", "dns1123label") == ["must not contain dots"]
    assert v.name_errors("My-Name", "dns1123label") == [LABEL_MSG]


def test_dns1035_label_must_start_with_a_letter() -> None:
    assert v.name_errors("1web", "dns1035label") == [DNS1035_MSG]
    assert v.name_errors("web-1", "dns1035label") == []


def test_generate_name_may_end_with_a_dash() -> None:
    assert v.name_errors("web-", "dns1123subdomain", prefix=True) == []
    assert v.name_errors("web-", "dns1123subdomain") != []


def test_path_segment_names() -> None:
    assert v.name_errors("..", "path-segment") == ["may not be '..'"]
    assert v.name_errors("a/b%c", "path-segment") == ["may not contain '/'", "may not contain '%'"]
    assert v.name_errors("system:admin", "path-segment") == []


def test_label_key_and_value_messages() -> None:
    assert v.is_qualified_name("bad key") == [KEY_NAME_MSG]
    assert v.is_qualified_name("Example.com/x") == ["prefix part " + SUBDOMAIN_MSG]
    assert v.is_qualified_name("/x") == ["prefix part must be non-empty"]
    assert v.is_qualified_name("a" * 64) == ["name part must be no more than 63 bytes"]
    assert v.is_label_value("x" * 64)[0] == "must be no more than 63 bytes"
    assert v.is_qualified_name("app.kubernetes.io/name") == []


# ---- error formatting ---------------------------------------------------------------------------------


def test_single_error_message_has_no_brackets() -> None:
    errs = [v.required("spec.selector")]
    assert v.invalid_message("Deployment", "x", errs, "apps") == 'Deployment.apps "x" is invalid: spec.selector: Required value'


def test_several_errors_are_bracketed_and_deduplicated() -> None:
    errs = [v.required("spec.a"), v.invalid("spec.b", 3, "must be odd"), v.required("spec.a")]
    assert v.invalid_message("Pod", "p", errs) == 'Pod "p" is invalid: [spec.a: Required value, spec.b: Invalid value: 3: must be odd]'
    assert v.invalid_message("Pod", "p", []) == 'Pod "p" is invalid'


def test_bad_values_print_like_go() -> None:
    assert v.invalid("f", 'say "hi"\n', "x")["message"] == 'Invalid value: "say \\"hi\\"\\n": x'
    assert v.invalid("f", 1e6, "x")["message"] == "Invalid value: 1e+06: x"
    assert v.invalid("f", 2.5, "x")["message"] == "Invalid value: 2.5: x"
    assert v.invalid("f", True, "x")["message"] == "Invalid value: true: x"
    assert v.invalid("f", {"b": 1, "a": "<"}, "x")["message"] == 'Invalid value: {"a":"\\u003c","b":1}: x'
    assert v.invalid("f", None, "x")["message"] == "Invalid value: null: x"


def test_not_supported_too_long_and_too_many_bodies() -> None:
    assert v.not_supported("f", "X", ["A", "B"])["message"] == 'Unsupported value: "X": supported values: "A", "B"'
    assert v.too_long("f", 10)["message"] == "Too long: may not be more than 10 bytes"
    assert v.too_many("f", 5, 3)["message"] == "Too many: 5: must have at most 3 items"


def test_field_error_carries_status_cause_fields() -> None:
    e = v.invalid("spec.replicas", -1, "must be greater than or equal to 0")
    assert (e["type"], e["field"], e["detail"]) == ("FieldValueInvalid", "spec.replicas", "must be greater than or equal to 0")


# ---- object metadata ------------------------------------------------------------------------------------


def test_name_or_generate_name_is_required() -> None:
    obj = {"metadata": {"namespace": "default"}}
    assert texts(v.validate_object_meta(obj, True)) == ["metadata.name: Required value: name or generateName is required"]


def test_invalid_name_is_reported_with_its_value() -> None:
    obj = {"metadata": {"name": "Bad_Name", "namespace": "default"}}
    assert texts(v.validate_object_meta(obj, True)) == [f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}']


def test_generate_name_is_checked_as_a_prefix() -> None:
    obj = {"metadata": {"generateName": "Web-", "name": "Web-x1y2z", "namespace": "d"}}
    out = texts(v.validate_object_meta(obj, True))
    assert [o.split(": ")[0] for o in out] == ["metadata.generateName", "metadata.name"]
    assert out[0].startswith('metadata.generateName: Invalid value: "Web-": a lowercase RFC 1123 subdomain')


def test_namespace_presence_follows_scope() -> None:
    assert texts(v.validate_object_meta({"metadata": {"name": "a"}}, True)) == ["metadata.namespace: Required value"]
    assert texts(v.validate_object_meta({"metadata": {"name": "a", "namespace": "x"}}, False)) == [
        "metadata.namespace: Forbidden: not allowed on this type"]


def test_labels_and_annotations_syntax_and_size() -> None:
    obj = {"metadata": {"name": "a", "namespace": "d", "labels": {"ok": "x" * 64},
                        "annotations": {"big": "x" * (256 * 1024)}}}
    out = texts(v.validate_object_meta(obj, True))
    assert out[0].startswith('metadata.labels: Invalid value: "' + "x" * 64 + '": must be no more than 63 bytes')
    assert out[-1] == "metadata.annotations: Too long: may not be more than 262144 bytes"


def test_finalizers_must_be_qualified_and_standard_for_builtins() -> None:
    obj = {"metadata": {"name": "a", "namespace": "d", "finalizers": ["custom", "example.com/cleanup", "kubernetes"]}}
    assert texts(v.validate_object_meta(obj, True)) == [
        'metadata.finalizers[0]: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified']
    assert v.validate_object_meta(obj, True, builtin=False) == []


def test_owner_references_basics() -> None:
    refs = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": True},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": True},
            {"apiVersion": "a/b/c", "kind": "", "name": "c", "uid": "3"}]
    out = texts(v.validate_object_meta({"metadata": {"name": "p", "namespace": "d", "ownerReferences": refs}}, True))
    assert 'Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b' in out[0]
    assert out[1:] == ['metadata.ownerReferences[2].apiVersion: Invalid value: "a/b/c": must be <group>/<version> or <version>',
                       "metadata.ownerReferences[2].kind: Required value: must not be empty"]


def test_metadata_update_keeps_name_and_generation() -> None:
    old = {"metadata": {"name": "a", "namespace": "d", "resourceVersion": "5", "generation": 3}}
    new = {"metadata": {"name": "b", "namespace": "d", "resourceVersion": "5", "generation": 2}}
    assert texts(v.validate_object_meta(new, True, old=old)) == [
        "metadata.generation: Invalid value: 2: must not be decremented",
        'metadata.name: Invalid value: "b": field is immutable']


def test_no_new_finalizers_while_deleting() -> None:
    old = {"metadata": {"name": "a", "resourceVersion": "1", "deletionTimestamp": "2026-01-01T00:00:00Z",
                        "deletionGracePeriodSeconds": 0, "finalizers": ["kubernetes"]}}
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["kubernetes", "example.com/x"]
    assert texts(v.validate_object_meta(new, False, old=old)) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, "
        'found new finalizers []string{"example.com/x"}']


# ---- pods ------------------------------------------------------------------------------------------------


def test_pod_containers_need_names_images_and_unique_names() -> None:
    obj = pod(containers=[{"image": "nginx"}, {"name": "app"}, {"name": "app", "image": "x"}])
    assert full_check(obj, "Pod", "") == [
        "spec.containers[0].name: Required value",
        "spec.containers[1].image: Required value",
        'spec.containers[2].name: Duplicate value: "app"',
    ]


def test_pod_without_containers() -> None:
    assert full_check(pod(containers=[]), "Pod", "") == ["spec.containers: Required value"]


def test_container_name_must_be_a_dns_label() -> None:
    obj = pod(containers=[{"name": "App_1", "image": "x"}])
    assert full_check(obj, "Pod", "") == [f'spec.containers[0].name: Invalid value: "App_1": {LABEL_MSG}']


def test_container_ports_and_protocols() -> None:
    obj = pod(containers=[{"name": "a", "image": "x", "ports": [
        {"containerPort": 70000}, {"containerPort": 80, "hostPort": 0, "protocol": "HTTP"}, {"name": "web", "containerPort": 81},
        {"name": "web", "containerPort": 82}]}])
    assert full_check(obj, "Pod", "") == [
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        'spec.containers[0].ports[3].name: Duplicate value: "web"',
    ]


def test_restart_and_pull_policies_are_enums() -> None:
    obj = pod(restartPolicy="Sometimes", containers=[{"name": "a", "image": "x", "imagePullPolicy": "Maybe"}])
    assert full_check(obj, "Pod", "") == [
        'spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"',
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]


def test_volume_mounts_must_name_a_volume() -> None:
    obj = pod(volumes=[{"name": "data", "emptyDir": {}}, {"name": "cfg"}],
              containers=[{"name": "a", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"},
                                                                      {"name": "logs", "mountPath": "/d"}]}])
    assert full_check(obj, "Pod", "") == [
        "spec.volumes[1]: Required value: must specify a volume type",
        'spec.containers[0].volumeMounts[1].name: Not found: "logs"',
        'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique',
    ]


def test_requests_above_limits_use_canonical_quantities() -> None:
    obj = pod(containers=[{"name": "a", "image": "x", "resources": {"limits": {"cpu": "0.25", "memory": "1Gi"},
                                                                      "requests": {"cpu": "500m", "memory": "1024Mi"}}}])
    assert full_check(obj, "Pod", "") == [
        'spec.containers[0].resources.requests: Invalid value: "500m": must be less than or equal to cpu limit of 250m']


def test_gpus_need_equal_integer_limits() -> None:
    obj = pod(containers=[
        {"name": "a", "image": "x", "resources": {"requests": {"nvidia.com/gpu": 1}}},
        {"name": "b", "image": "x", "resources": {"limits": {"nvidia.com/gpu": "0.5"}, "requests": {"nvidia.com/gpu": "0.5"}}},
        {"name": "c", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 2}, "requests": {"nvidia.com/gpu": 1}}},
        {"name": "d", "image": "x", "resources": {"limits": {"cpu": "-1", "pods": "1"}}},
    ])
    assert full_check(obj, "Pod", "") == [
        "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
        'spec.containers[1].resources.limits[nvidia.com/gpu]: Invalid value: "500m": must be an integer',
        'spec.containers[1].resources.requests[nvidia.com/gpu]: Invalid value: "500m": must be an integer',
        'spec.containers[2].resources.requests: Invalid value: "1": must be equal to nvidia.com/gpu limit of 2',
        'spec.containers[3].resources.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0',
        'spec.containers[3].resources.limits[pods]: Invalid value: "pods": must be a standard resource for containers',
    ]


def test_env_vars() -> None:
    obj = pod(containers=[{"name": "a", "image": "x", "env": [
        {"value": "x"}, {"name": "A=B"}, {"name": "C", "valueFrom": {}},
        {"name": "D", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.foo"}}},
        {"name": "E", "valueFrom": {"secretKeyRef": {"name": "s", "key": ""}}}]}])
    assert full_check(obj, "Pod", "") == [
        "spec.containers[0].env[0].name: Required value",
        'spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only '
        "of printable ASCII characters other than '='",
        'spec.containers[0].env[2].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, '
        "`configMapKeyRef` or `secretKeyRef`",
        'spec.containers[0].env[3].valueFrom.fieldRef.fieldPath: Invalid value: "spec.foo": error converting fieldPath: '
        "field label not supported: spec.foo",
        "spec.containers[0].env[4].valueFrom.secretKeyRef.key: Required value",
    ]


def test_probes_need_one_handler() -> None:
    obj = pod(containers=[{"name": "a", "image": "x", "livenessProbe": {"periodSeconds": -1},
                           "readinessProbe": {"exec": {"command": ["true"]}, "httpGet": {"port": 99999}}}])
    assert full_check(obj, "Pod", "") == [
        "spec.containers[0].livenessProbe: Required value: must specify a handler type",
        "spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        "spec.containers[0].readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
    ]


def test_tolerations_and_node_selector() -> None:
    obj = pod(tolerations=[{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v"}],
              nodeSelector={"gpu": "a b"})
    out = full_check(obj, "Pod", "")
    assert out[0].startswith('spec.nodeSelector: Invalid value: "a b": a valid label must be an empty string')
    assert out[1:] == [
        'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means '
        '"match all values and all keys"',
        'spec.tolerations[1].operator: Invalid value: "v": value must be empty when `operator` is \'Exists\'',
    ]


def test_pod_update_may_only_change_images() -> None:
    old = pod(nodeName="node-a")
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert v.validate_builtin(new, "Pod", "", old) == []
    new["spec"]["nodeName"] = "node-b"
    out = full_check(new, "Pod", "")
    assert out == []
    errs = v.validate_builtin(new, "Pod", "", old)
    assert [e["field"] for e in errs] == ["spec"]
    assert errs[0]["message"].startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n")
    assert '- \tNodeName: "node-a",' in errs[0]["message"]


def test_pod_update_treats_omitted_zero_values_as_unchanged() -> None:
    old = pod(hostNetwork=False, priority=0)
    new = pod()
    new["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert v.validate_builtin(new, "Pod", "", old) == []


def test_pod_update_cannot_add_containers_or_drop_tolerations() -> None:
    old = pod(tolerations=[{"key": "k", "operator": "Exists"}])
    new = copy.deepcopy(old)
    new["spec"]["tolerations"] = []
    assert texts(v.validate_builtin(new, "Pod", "", old)) == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"]
    new["spec"]["containers"].append({"name": "b", "image": "x"})
    assert texts(v.validate_builtin(new, "Pod", "", old))[0] == "spec.containers: Forbidden: pod updates may not add or remove containers"


# ---- workloads -------------------------------------------------------------------------------------------


def test_deployment_selector_required_and_must_match_labels() -> None:
    obj = deployment()
    del obj["spec"]["selector"]
    assert v.invalid_message("Deployment", "web", v.validate_builtin(obj, "Deployment", "apps", None), "apps") == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: '
        '{"app":"web"}: `selector` does not match template `labels`]')


def test_deployment_replicas_and_empty_selector() -> None:
    obj = deployment(replicas=-1, selector={})
    assert full_check(obj, "Deployment", "apps") == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
    ]


def test_deployment_template_is_validated_and_must_restart_always() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"] = {"restartPolicy": "Never", "containers": [{"name": "app"}]}
    assert full_check(obj, "Deployment", "apps") == [
        "spec.template.spec.containers[0].image: Required value",
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ]


def test_deployment_strategy() -> None:
    obj = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}})
    assert full_check(obj, "Deployment", "apps") == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"]
    obj = deployment(strategy={"type": "Canary"})
    assert full_check(obj, "Deployment", "apps") == [
        'spec.strategy: Unsupported value: {"type":"Canary"}: supported values: "Recreate", "RollingUpdate"']


def test_deployment_selector_is_immutable() -> None:
    old = deployment()
    new = deployment(selector={"matchLabels": {"app": "web", "tier": "x"}})
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert texts(v.validate_builtin(new, "Deployment", "apps", old)) == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable']


def test_selector_expressions_are_validated() -> None:
    obj = deployment(selector={"matchExpressions": [{"key": "app", "operator": "In"}]})
    assert full_check(obj, "Deployment", "apps") == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"In"}]}: invalid label selector',
    ]


def test_statefulset_name_is_a_label_and_spec_mostly_immutable() -> None:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db.main", "namespace": "d"},
           "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "pg"}]}}}}
    assert full_check(sts, "StatefulSet", "apps") == ['metadata.name: Invalid value: "db.main": must not contain dots']
    new = copy.deepcopy(sts)
    new["spec"]["replicas"] = 5
    assert v.validate_builtin(new, "StatefulSet", "apps", sts) == []
    new["spec"]["serviceName"] = "other"
    assert texts(v.validate_builtin(new, "StatefulSet", "apps", sts)) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]


def test_daemonset_without_selector_does_not_match_its_template() -> None:
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "d"},
          "spec": {"template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "a", "image": "x"}], "restartPolicy": "OnFailure"}}}}
    assert full_check(ds, "DaemonSet", "apps") == [
        'spec.template.metadata.labels: Invalid value: {"app":"agent"}: `selector` does not match template `labels`',
        'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
    ]


def job(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
        "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "u1"}},
                     "spec": {"restartPolicy": "Never", "containers": [{"name": "train", "image": "pytorch"}]}},
    }
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "namespace": "d"}, "spec": body}


def test_job_pods_may_not_restart_always() -> None:
    obj = job(backoffLimit=-1)
    del obj["spec"]["template"]["spec"]["restartPolicy"]
    assert full_check(obj, "Job", "batch") == [
        "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    ]


def test_job_template_and_selector_are_immutable() -> None:
    old = job()
    new = job()
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "pytorch:2"
    out = texts(v.validate_builtin(new, "Job", "batch", old))
    assert len(out) == 1 and out[0].startswith("spec.template: Invalid value: {") and out[0].endswith(": field is immutable")
    suspended_old, suspended_new = job(suspend=True), job(suspend=True)
    suspended_new["spec"]["template"]["spec"]["nodeSelector"] = {"gpu": "a100"}
    assert v.validate_builtin(suspended_new, "Job", "batch", suspended_old) == []


def test_cronjob_schedule_and_name_length() -> None:
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "n" * 53, "namespace": "d"},
          "spec": {"schedule": "*/5 * *", "concurrencyPolicy": "Sometimes",
                   "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                                                  "containers": [{"name": "a", "image": "x"}]}}}}}}
    assert v.validate_object_meta(cj, True) == []
    assert texts(v.validate_builtin(cj, "CronJob", "batch", None)) == [
        f'metadata.name: Invalid value: "{"n" * 53}": must be no more than 52 characters',
        'spec.schedule: Invalid value: "*/5 * *": expected exactly 5 fields, found 3: [*/5 * *]',
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
    ]


# ---- services, config, namespaces -------------------------------------------------------------------


def service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "d"}, "spec": spec}


def test_service_names_are_dns1035_labels() -> None:
    obj = service(ports=[{"port": 80}])
    obj["metadata"]["name"] = "1web"
    assert full_check(obj, "Service", "") == [f'metadata.name: Invalid value: "1web": {DNS1035_MSG}']


def test_service_ports() -> None:
    assert full_check(service(), "Service", "") == ["spec.ports: Required value"]
    obj = service(type="Cluster", ports=[{"port": 0, "targetPort": "HTTP"}, {"name": "b", "port": 80, "protocol": "TCP"},
                                         {"name": "b", "port": 80, "nodePort": 30000}])
    assert full_check(obj, "Service", "") == [
        "spec.ports[0].name: Required value",
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.ports[0].targetPort: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
        'spec.ports[0].targetPort: Invalid value: "HTTP": must contain at least one letter (a-z)',
        'spec.ports[2].name: Duplicate value: "b"',
        'spec.type: Unsupported value: "Cluster": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
        'spec.ports[2]: Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}',
    ]


def test_service_cluster_ip_is_immutable() -> None:
    old = service(clusterIP="10.0.0.10", clusterIPs=["10.0.0.10"], ports=[{"port": 80}])
    new = service(clusterIP="10.0.0.11", clusterIPs=["10.0.0.11"], ports=[{"port": 80}])
    assert texts(v.validate_builtin(new, "Service", "", old)) == [
        'spec.clusterIPs[0]: Invalid value: ["10.0.0.11"]: may not change once set']
    assert v.validate_builtin(service(ports=[{"port": 80}]), "Service", "", old) == []


def test_namespace_names_are_labels() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team.a"}}
    assert full_check(ns, "Namespace", "", namespaced=False) == ['metadata.name: Invalid value: "team.a": must not contain dots']


def test_configmap_keys_and_immutability() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
          "data": {"good.key": "1", "bad key": "2", "..x": "3"}, "binaryData": {"good.key": "AA=="}}
    out = full_check(cm, "ConfigMap", "")
    assert out[0] == 'data[good.key]: Invalid value: "good.key": duplicate of key present in binaryData'
    assert out[1].startswith('data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric '
                             "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex")
    assert out[2] == "data[..x]: Invalid value: \"..x\": must not start with '..'"
    old = {"metadata": {"name": "c"}, "data": {"a": "1"}, "immutable": True}
    new = {"metadata": {"name": "c"}, "data": {"a": "2"}}
    assert texts(v.validate_builtin(new, "ConfigMap", "", old)) == [
        "immutable: Forbidden: field is immutable when `immutable` is set",
        "data: Forbidden: field is immutable when `immutable` is set",
    ]


def test_secret_type_rules() -> None:
    tls = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls",
           "data": {"tls.crt": "QQ=="}}
    assert texts(v.validate_builtin(tls, "Secret", "", None)) == ["data[tls.key]: Required value"]
    old = {**tls, "type": "Opaque"}
    assert texts(v.validate_builtin(tls, "Secret", "", old))[0] == 'type: Invalid value: "kubernetes.io/tls": field is immutable'


def test_pvc_needs_access_modes_and_storage() -> None:
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "d"},
           "spec": {"resources": {"requests": {}}}}
    assert full_check(pvc, "PersistentVolumeClaim", "") == [
        "spec.accessModes: Required value: at least 1 access mode is required",
        "spec.resources[storage]: Required value",
    ]


def test_unknown_kinds_have_no_extra_checks() -> None:
    assert v.validate_builtin({"metadata": {"name": "x"}}, "Lease", "coordination.k8s.io", None) == []


# ---- decoding built-in objects ------------------------------------------------------------------------


def test_wrong_json_types_are_decode_errors(s137: schema.Schemas) -> None:
    obj = deployment(replicas="3")
    errs = v.validate_schema(obj, s137.for_kind("apps", "v1", "Deployment") or {}, s137.resolve)
    assert [e["field"] for e in errs] == ["spec.replicas"]
    assert v.decode_error_message("Deployment", "v1", errs) == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct '
        "field DeploymentSpec.spec.replicas of type int32")


def test_decode_error_names_element_types(s137: schema.Schemas) -> None:
    obj = pod(containers=["nginx"])
    errs = v.validate_schema(obj, s137.for_kind("", "v1", "Pod") or {}, s137.resolve)
    assert errs[0]["decode"] == "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container"
    obj = pod(containers=[{"name": "a", "image": "x", "ports": [{"containerPort": 1.5}]}])
    errs = v.validate_schema(obj, s137.for_kind("", "v1", "Pod") or {}, s137.resolve)
    assert errs[0]["decode"] == ("json: cannot unmarshal number 1.5 into Go struct field "
                                 "ContainerPort.spec.containers.ports.containerPort of type int32")


@pytest.mark.parametrize("good", ["100m", "1Gi", "1.5", 2, 0.5, "1e3", "+5", "500Mi"])
def test_well_formed_quantities_decode(s137: schema.Schemas, good: Any) -> None:
    obj = pod(containers=[{"name": "a", "image": "x", "resources": {"requests": {"cpu": good}}}])
    assert v.validate_schema(obj, s137.for_kind("", "v1", "Pod") or {}, s137.resolve) == []


@pytest.mark.parametrize(("bad", "msg"), [("abc", QUANTITY_MSG), ("1Ki1", "unable to parse quantity's suffix"),
                                           (True, QUANTITY_MSG), ("", QUANTITY_MSG), ("1.2.3", QUANTITY_MSG)])
def test_malformed_quantities_are_rejected(s137: schema.Schemas, bad: Any, msg: str) -> None:
    obj = pod(containers=[{"name": "a", "image": "x", "resources": {"limits": {"memory": bad}}}])
    errs = v.validate_schema(obj, s137.for_kind("", "v1", "Pod") or {}, s137.resolve)
    assert [(e["field"], e["decode"]) for e in errs] == [("spec.containers[0].resources.limits[memory]", msg)]
    assert v.decode_error_message("Pod", "v1", errs) == f'Pod in version "v1" cannot be handled as a Pod: {msg}'


def test_int_or_string_fields_decode(s137: schema.Schemas) -> None:
    svc = service(ports=[{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8080}, {"port": 82, "targetPort": True}])
    errs = v.validate_schema(svc, s137.for_kind("", "v1", "Service") or {}, s137.resolve)
    assert [(e["field"], e["decode"]) for e in errs] == [
        ("spec.ports[2].targetPort", "json: cannot unmarshal bool into Go value of type int32")]


def test_secret_data_must_be_base64(s137: schema.Schemas) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"ok": "aGVsbG8=", "bad": "hello"}}
    errs = v.validate_schema(secret, s137.for_kind("", "v1", "Secret") or {}, s137.resolve)
    assert v.decode_error_message("Secret", "v1", errs) == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4')


def test_quantity_canonical_forms() -> None:
    cases = {"0.5": "500m", "1024Mi": "1Gi", "1.5Gi": "1536Mi", "1000000m": "1k", "1e3": "1e3", "0": "0", "100m": "100m",
             "12e-3": "12e-3", "0.1Ki": "102400m", "1.5": "1500m"}
    assert {k: v.quantity_string(k) for k in cases} == cases
    assert v.quantity_string(2) == "2"


# ---- unknown fields -------------------------------------------------------------------------------------


def test_builtin_unknown_fields_in_document_order(s137: schema.Schemas) -> None:
    obj = pod(bogus=1, containers=[{"name": "a", "image": "x", "imagePullPolicy": "Always", "Image": "y",
                                    "ports": [{"containerPort": 80, "prot": "TCP"}]}])
    obj["metadata"]["labelz"] = {}
    obj["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    assert v.unknown_fields(obj, s137.for_kind("", "v1", "Pod") or {}, s137.resolve) == [
        "metadata.labelz", "spec.containers[0].Image", "spec.containers[0].ports[0].prot", "spec.bogus"]


def test_builtin_raw_extensions_keep_anything(s137: schema.Schemas) -> None:
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"}, "revision": 1,
           "data": {"spec": {"anything": True}}}
    assert v.unknown_fields(rev, s137.for_kind("apps", "v1", "ControllerRevision") or {}, s137.resolve) == []


def _with_unknown(x: Any, rng: random.Random) -> Any:
    """x with a few keys no schema has, at random depths (maps under lists included)."""
    if isinstance(x, dict):
        out = {k: _with_unknown(y, rng) for k, y in x.items()}
        if rng.random() < 0.15:
            out[rng.choice(["bogus", "Image", "prot"])] = rng.choice([1, {"deep": 1}, [{"a": 1}]])
        return out
    if isinstance(x, list):
        return [_with_unknown(y, rng) for y in x]
    return x


def test_builtin_unknown_fields_by_shape_match_a_fresh_walk(s137: schema.Schemas) -> None:
    # unknown_fields answers objects of a shape seen before from a cache (kubenest.api.shapes): it must
    # report what walking the object reports, for variants that keep the keys and change everything else.
    rng = random.Random(3)
    for i in range(600):
        _, _, kind, node = nth_kind(s137, SHAPES, i)
        base = random_object(node, s137.resolve, rng)
        for attempt in range(4):
            twin = _with_unknown(base, rng) if attempt % 2 else variant(_with_unknown(base, rng), rng)
            walked: list[str] = []
            v._strict_unknown(twin, node, s137.resolve, v._decode_plan(s137.resolve), "", walked, False)
            assert v.unknown_fields(twin, node, s137.resolve) == walked, (kind, twin)


def _out_of_range(x: Any, rng: random.Random) -> Any:
    """x with some map-level values a type check passes and a value check may not: big integers,
    malformed quantities and base64, int-or-strings out of int32."""
    if isinstance(x, dict):
        return {k: _out_of_range(y, rng) for k, y in x.items()}
    if isinstance(x, int) and not isinstance(x, bool) and rng.random() < 0.3:
        return rng.choice([2**31, -(2**31) - 1, 2**63, 5])
    if isinstance(x, str) and rng.random() < 0.3:
        return rng.choice(["1Zi", "12x", "100m", "==", "YWJj", "not base64!", "80"])
    return x


def test_decode_errors_by_shape_match_a_fresh_walk(s137: schema.Schemas) -> None:
    # decode_errors answers objects of a shape that decoded cleanly from a cache, checking again only
    # the values it checked outside lists: it must report what a full walk reports, whatever the values.
    rng = random.Random(9)
    kinds = [*SHAPES, ("", "v1", "Secret"), ("", "v1", "ResourceQuota"), ("apps", "v1", "Deployment")]
    clean = {  # objects that decode cleanly, with values checked at map level
        "Secret": {"data": {"a": "YWJj", "b": ""}, "immutable": True},
        "ResourceQuota": {"spec": {"hard": {"cpu": "1", "pods": "10", "memory": "1Gi"}}},
        "Deployment": {"spec": {"replicas": 2, "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
                                "revisionHistoryLimit": 3}},
    }
    for i in range(900):
        _, _, kind, node = nth_kind(s137, kinds, i)
        base = copy.deepcopy(clean[kind]) if kind in clean and (i // len(kinds)) % 2 else random_object(node, s137.resolve, rng)
        base["kind"] = kind
        for attempt in range(4):
            twin = base if attempt == 0 else _out_of_range(variant(base, rng) if attempt == 3 else base, rng)
            assert v.decode_errors(twin, node, s137.resolve) == v.validate_schema(twin, node, s137.resolve), (kind, twin)


# ---- custom resources -----------------------------------------------------------------------------------

WIDGET: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["image"],
            "properties": {
                "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10, "default": 1},
                "image": {"type": "string", "pattern": "^[a-z0-9./:-]+$", "maxLength": 40, "minLength": 3},
                "size": {"type": "string", "enum": ["small", "large"]},
                "port": {"x-kubernetes-int-or-string": True},
                "owner": {"type": "string", "format": "email"},
                "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1.5},
                "note": {"type": "string", "nullable": True},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set", "maxItems": 3},
                "workers": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {
                                "name": {"type": "string"}, "gpus": {"type": "integer", "default": 1}}}},
                "env": {"type": "object", "additionalProperties": {"type": "string"}},
                "podTemplate": {"type": "object", "x-kubernetes-embedded-resource": True,
                                "x-kubernetes-preserve-unknown-fields": True},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                           "properties": {"limits": {"type": "object", "properties": {"cpu": {"type": "string"}}}}},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}, "replicas": {"type": "integer"}}},
    },
}


def widget(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"image": "registry.local/widget:1"}
    body.update(spec)
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "d"}, "spec": body}


def crd_errors(obj: dict[str, Any], node: dict[str, Any] = WIDGET, prefix: str = "") -> list[str]:
    return texts(v.validate_schema(obj, node, schema.identity, prefix=prefix))


def test_crd_type_errors_name_the_json_type() -> None:
    assert crd_errors(widget(replicas="3")) == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']
    assert crd_errors(widget(env={"A": 1})) == [
        'spec.env.A: Invalid value: "integer": spec.env.A in body must be of type string: "integer"']


def test_crd_required_enum_pattern_and_ranges() -> None:
    obj = widget(replicas=11, size="medium", ratio=1.5)
    del obj["spec"]["image"]
    assert crd_errors(obj) == [
        "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
        'spec.size: Unsupported value: "medium": supported values: "small", "large"',
        "spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5",
        "spec.image: Required value",
    ]
    assert crd_errors(widget(image="UPPER")) == [
        "spec.image: Invalid value: \"UPPER\": spec.image in body should match '^[a-z0-9./:-]+$'"]
    assert crd_errors(widget(image="ab")) == ['spec.image: Invalid value: "ab": spec.image in body should be at least 3 chars long']
    assert crd_errors(widget(image="a" * 41)) == ["spec.image: Too long: may not be more than 40 bytes"]


def test_crd_int_or_string_and_formats() -> None:
    assert crd_errors(widget(port="http")) == []
    assert crd_errors(widget(port=8080)) == []
    assert crd_errors(widget(port=1.5)) == [
        'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"']
    assert crd_errors(widget(owner="not-an-email")) == [
        'spec.owner: Invalid value: "not-an-email": spec.owner in body must be of type email: "not-an-email"']
    assert crd_errors(widget(owner="ml@example.com")) == []


def test_crd_nulls_respect_nullable() -> None:
    assert crd_errors(widget(note=None)) == []
    assert crd_errors(widget(size=None)) == [
        'spec.size: Invalid value: "null": spec.size in body must be of type string: "null"',
        'spec.size: Unsupported value: null: supported values: "small", "large"',
    ]


def test_crd_list_types_reject_duplicates() -> None:
    obj = widget(tags=["a", "b", "a", "a"], workers=[{"name": "w1"}, {"name": "w2"}, {"name": "w1", "gpus": 2}])
    assert crd_errors(obj) == [
        "spec.tags: Too many: 4: must have at most 3 items",
        'spec.tags[2]: Duplicate value: "a"',
        'spec.workers[2]: Duplicate value: {"name":"w1"}',
    ]


def test_crd_embedded_resources_are_checked() -> None:
    obj = widget(podTemplate={"kind": "pod template", "metadata": {"name": "a/b", "labels": {"k": "v v"}}})
    out = crd_errors(obj)
    assert out[:3] == [
        "spec.podTemplate.apiVersion: Required value",
        'spec.podTemplate.kind: Invalid value: "pod template": may have mixed case, but should otherwise match: ' + DNS1035_MSG,
        "spec.podTemplate.metadata.name: Invalid value: \"a/b\": may not contain '/'",
    ]
    assert out[3].startswith('spec.podTemplate.metadata.labels: Invalid value: "v v": a valid label must be')


def test_crd_status_errors_keep_inner_names() -> None:
    status = {"ready": "yes"}
    assert crd_errors(status, WIDGET["properties"]["status"], prefix="status") == [
        'status.ready: Invalid value: "string": ready in body must be of type boolean: "string"']


def test_crd_updates_ratchet_unchanged_values() -> None:
    old = widget(size="medium", workers=[{"name": "a", "gpus": "two"}])
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    assert texts(v.validate_schema(new, WIDGET, schema.identity, old=old)) == []
    new["spec"]["workers"].append({"name": "b", "gpus": "three"})
    assert texts(v.validate_schema(new, WIDGET, schema.identity, old=old)) == [
        'spec.workers[1].gpus: Invalid value: "string": spec.workers[1].gpus in body must be of type integer: "string"']
    assert len(v.validate_schema(new, WIDGET, schema.identity)) == 3


def test_crd_combinators() -> None:
    node = {"type": "object", "properties": {"spec": {"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}}}
    assert crd_errors({"spec": {}}, node) == [
        '<nil>: Invalid value: "": "spec" must validate at least one schema (anyOf)', "spec.a: Required value"]
    assert crd_errors({"spec": {"b": 1}}, node) == []


def test_crd_unknown_fields_follow_apiextensions_order() -> None:
    obj = widget(extra=1, config={"anything": {"goes": 1}, "limits": {"cpu": "1", "gpu": 1}},
                 podTemplate={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "bogus": 1}, "spec": {"x": 1}})
    obj["metadata"]["colour"] = "red"
    obj["status"] = {"ready": True, "phase": "x"}
    obj["zzz"] = 1
    before = copy.deepcopy(obj)
    assert v.unknown_fields(obj, WIDGET, schema.identity) == [
        "metadata.colour", "spec.config.limits.gpu", "spec.extra", "status.phase", "zzz", "spec.podTemplate.metadata.bogus"]
    assert obj == before


def test_crd_prune_drops_unknown_fields_and_nulls() -> None:
    obj = widget(extra=1, replicas=None, note=None, config={"anything": 1, "limits": {"gpu": 1}})
    obj["metadata"]["colour"] = "red"
    pruned = v.crd_prune(obj, WIDGET)
    assert pruned == ["metadata.colour", "spec.config.limits.gpu", "spec.extra"]
    # replicas has a default and note is nullable, so both nulls stay for defaulting and storage
    assert obj["spec"] == {"image": "registry.local/widget:1", "note": None, "replicas": None,
                           "config": {"anything": 1, "limits": {}}}
    assert obj["metadata"] == {"name": "w", "namespace": "d"}


def test_crd_prune_keeps_nulls_only_where_defaults_or_nullable() -> None:
    node = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "a": {"type": "string"}, "b": {"type": "string", "nullable": True}, "c": {"type": "string", "default": "x"}}}}}
    obj = {"spec": {"a": None, "b": None, "c": None}}
    assert v.crd_prune(obj, node) == []
    assert obj == {"spec": {"b": None, "c": None}}


def test_crd_default_fills_nested_arrays_and_maps() -> None:
    node = copy.deepcopy(WIDGET)
    node["properties"]["spec"]["properties"]["env"]["additionalProperties"] = {"type": "string", "default": "on"}
    obj = widget(workers=[{"name": "a"}, {"name": "b", "gpus": 4}], env={"DEBUG": None})
    v.crd_default(obj, node)
    assert obj["spec"]["replicas"] == 1
    assert obj["spec"]["workers"] == [{"name": "a", "gpus": 1}, {"name": "b", "gpus": 4}]
    assert obj["spec"]["env"] == {"DEBUG": "on"}


def test_crd_default_replaces_non_nullable_null_and_applies_inside_defaults() -> None:
    node = {"type": "object", "properties": {"spec": {"type": "object", "default": {}, "properties": {
        "mode": {"type": "string", "default": "fast"}}}}}
    obj: dict[str, Any] = {"spec": None}
    v.crd_default(obj, node)
    assert obj == {"spec": {"mode": "fast"}}
    assert node["properties"]["spec"]["default"] == {}
