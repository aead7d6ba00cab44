"""The everyday kubectl verbs against a real server, with the real kubectl 1.37 binary."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time

from tests.conftest import Cluster

CM = textwrap.dedent(
    """
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
      labels: {app: web, tier: front}
    data:
      color: blue
    """
)

DEPLOY = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {app: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: app
            image: nginx:1.27
            ports: [{containerPort: 80}]
    """
)


def test_version_reports_the_cluster_kubernetes_version(cluster: Cluster) -> None:
    out = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["major"] == "1"
    assert out["serverVersion"]["minor"] == "37"


def test_api_resources_lists_builtin_kinds_with_short_names(cluster: Cluster) -> None:
    out = cluster.kubectl("api-resources", "--no-headers").stdout
    lines = {line.split()[0]: line.split() for line in out.splitlines()}
    assert lines["deployments"][1] == "deploy"
    assert "pods" in lines and "customresourcedefinitions" in lines
    wide = cluster.kubectl("api-resources", "-o", "wide", "--api-group=apps").stdout
    assert "statefulsets" in wide and "watch" in wide


def test_api_versions_lists_groups(cluster: Cluster) -> None:
    out = cluster.kubectl("api-versions").stdout.split()
    assert "v1" in out and "apps/v1" in out and "batch/v1" in out


def test_default_namespaces_exist(cluster: Cluster) -> None:
    names = cluster.kubectl("get", "ns", "-o", "name").stdout.split()
    assert names == ["namespace/default", "namespace/kube-node-lease", "namespace/kube-public",
                     "namespace/kube-system"]


def test_apply_then_get_as_table_yaml_json_and_jsonpath(cluster: Cluster) -> None:
    assert "configmap/settings created" in cluster.apply(CM).stdout
    assert "configmap/settings unchanged" in cluster.apply(CM).stdout
    table = cluster.kubectl("get", "configmap", "settings").stdout
    assert table.split("\n")[0].split() == ["NAME", "DATA", "AGE"]
    assert table.split("\n")[1].split()[:2] == ["settings", "1"]
    obj = cluster.json("get", "cm", "settings")
    assert obj["data"] == {"color": "blue"}
    assert obj["metadata"]["uid"] and obj["metadata"]["resourceVersion"]
    assert "color: blue" in cluster.kubectl("get", "cm", "settings", "-o", "yaml").stdout
    assert cluster.kubectl("get", "cm", "settings", "-o", "jsonpath={.data.color}").stdout == "blue"


def test_label_selectors_filter_lists(cluster: Cluster) -> None:
    cluster.apply(CM)
    cluster.kubectl("create", "-f", "-", input=CM.replace("settings", "other").replace("web", "db"))
    assert cluster.kubectl("get", "cm", "-l", "app=web", "-o", "name").stdout.split() == ["configmap/settings"]
    assert cluster.kubectl("get", "cm", "-l", "app in (db,cache)", "-o", "name").stdout.split() == [
        "configmap/other"]
    assert cluster.kubectl("get", "cm", "-l", "app,app!=db", "-o", "name").stdout.split() == [
        "configmap/settings"]
    bad = cluster.kubectl("get", "cm", "-l", "app in (", check=False)
    assert bad.returncode != 0


def test_field_selectors_filter_lists(cluster: Cluster) -> None:
    cluster.apply(CM)
    out = cluster.kubectl("get", "cm", "--field-selector", "metadata.name=settings", "-o", "name").stdout
    assert out.split() == ["configmap/settings"]
    bad = cluster.kubectl("get", "cm", "--field-selector", "spec.bogus=1", check=False)
    assert bad.returncode != 0 and '"spec.bogus" is not a known field selector' in bad.stderr


def test_chunked_list_returns_every_object(cluster: Cluster) -> None:
    manifest = "\n---\n".join(CM.replace("settings", f"cm-{i:02d}") for i in range(12))
    cluster.apply(manifest)
    out = cluster.kubectl("get", "cm", "--chunk-size=5", "-o", "name", "-l", "app=web").stdout.split()
    assert out == [f"configmap/cm-{i:02d}" for i in range(12)]


def test_label_annotate_and_remove(cluster: Cluster) -> None:
    cluster.apply(CM)
    cluster.kubectl("label", "cm", "settings", "env=prod")
    cluster.kubectl("annotate", "cm", "settings", "owner=team-a")
    meta = cluster.json("get", "cm", "settings")["metadata"]
    assert meta["labels"]["env"] == "prod" and meta["annotations"]["owner"] == "team-a"
    cluster.kubectl("label", "cm", "settings", "env-")
    assert "env" not in cluster.json("get", "cm", "settings")["metadata"]["labels"]
    clash = cluster.kubectl("label", "cm", "settings", "app=other", check=False)
    assert clash.returncode != 0 and "already has a value" in clash.stderr


def test_patch_strategic_merge_and_json(cluster: Cluster) -> None:
    cluster.apply(DEPLOY)
    cluster.kubectl("patch", "deploy", "web", "-p",
                    '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.28"}]}}}}')
    d = cluster.json("get", "deploy", "web")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert d["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert d["metadata"]["generation"] == 2
    cluster.kubectl("patch", "deploy", "web", "--type=merge", "-p", '{"metadata":{"labels":{"x":"y"}}}')
    assert cluster.json("get", "deploy", "web")["metadata"]["labels"] == {"app": "web", "x": "y"}
    cluster.kubectl("patch", "deploy", "web", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":5}]')
    assert cluster.json("get", "deploy", "web")["spec"]["replicas"] == 5
    failed = cluster.kubectl("patch", "deploy", "web", "--type=json", "-p",
                             '[{"op":"test","path":"/spec/replicas","value":1}]', check=False)
    assert failed.returncode != 0


def test_replace_with_stale_resource_version_conflicts(cluster: Cluster) -> None:
    cluster.apply(CM)
    obj = cluster.json("get", "cm", "settings")
    obj["data"]["color"] = "red"
    cluster.kubectl("replace", "-f", "-", input=json.dumps(obj))
    assert cluster.json("get", "cm", "settings")["data"]["color"] == "red"
    obj["data"]["color"] = "green"  # still carries the old resourceVersion
    stale = cluster.kubectl("replace", "-f", "-", input=json.dumps(obj), check=False)
    assert stale.returncode != 0
    assert "the object has been modified; please apply your changes to the latest version" in stale.stderr


def test_edit_with_a_scripted_editor(cluster: Cluster, tmp_path: object) -> None:
    cluster.apply(CM)
    editor = os.path.join(str(tmp_path), "editor.sh")
    with open(editor, "w") as f:
        f.write("#!/bin/sh\nsed -i 's/color: blue/color: purple/' \"$1\"\n")
    os.chmod(editor, 0o755)
    cluster.kubectl("edit", "cm", "settings", env={"KUBE_EDITOR": editor})
    assert cluster.json("get", "cm", "settings")["data"]["color"] == "purple"


def test_scale_sets_replicas_through_the_scale_subresource(cluster: Cluster) -> None:
    cluster.apply(DEPLOY)
    cluster.kubectl("scale", "deploy", "web", "--replicas=4")
    assert cluster.json("get", "deploy", "web")["spec"]["replicas"] == 4
    wrong = cluster.kubectl("scale", "deploy", "web", "--replicas=1", "--current-replicas=3", check=False)
    assert wrong.returncode != 0


def test_describe_shows_the_object(cluster: Cluster) -> None:
    cluster.apply(DEPLOY)
    out = cluster.kubectl("describe", "deploy", "web").stdout
    assert "Name:" in out and "web" in out and "nginx:1.27" in out


def test_delete_removes_and_get_answers_not_found(cluster: Cluster) -> None:
    cluster.apply(CM)
    assert 'configmap "settings" deleted' in cluster.kubectl("delete", "cm", "settings").stdout
    missing = cluster.kubectl("get", "cm", "settings", check=False)
    assert missing.returncode == 1
    assert 'configmaps "settings" not found' in missing.stderr


def test_delete_wait_returns_once_finalizers_are_removed(cluster: Cluster) -> None:
    cluster.apply(CM.replace("labels:", "finalizers: [example.com/hold]\n  labels:"))
    cluster.kubectl("delete", "cm", "settings", "--wait=false")
    held = cluster.json("get", "cm", "settings")
    assert held["metadata"]["deletionTimestamp"]
    cluster.kubectl("patch", "cm", "settings", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    cluster.kubectl("wait", "--for=delete", "cm/settings", "--timeout=10s")


def test_get_watch_streams_changes(cluster: Cluster) -> None:
    cluster.apply(CM)
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig)
    proc = subprocess.Popen([cluster.kubectl_bin, "get", "cm", "-w", "--request-timeout=5s", "-o", "name"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    cluster.kubectl("create", "configmap", "later", "--from-literal=a=b")
    try:
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert "configmap/settings" in out and "configmap/later" in out


def test_wait_for_jsonpath_and_condition(cluster: Cluster) -> None:
    cluster.apply(CM)
    cluster.kubectl("wait", "--for=jsonpath={.data.color}=blue", "cm/settings", "--timeout=10s")
    timed_out = cluster.kubectl("wait", "--for=jsonpath={.data.color}=red", "cm/settings", "--timeout=1s",
                                check=False)
    assert timed_out.returncode != 0


def test_diff_shows_changes_against_the_server(cluster: Cluster) -> None:
    cluster.apply(CM)
    same = cluster.kubectl("diff", "-f", "-", input=CM, check=False)
    assert same.returncode == 0, same.stderr
    changed = cluster.kubectl("diff", "-f", "-", input=CM.replace("blue", "red"), check=False)
    assert changed.returncode == 1, changed.stderr
    assert "-  color: blue" in changed.stdout and "+  color: red" in changed.stdout


def test_server_side_apply_and_conflicts(cluster: Cluster) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", input=DEPLOY)
    d = cluster.json("get", "deploy", "web", "--show-managed-fields")
    managers = {m["manager"] for m in d["metadata"]["managedFields"]}
    assert "kubectl" in managers
    conflict = cluster.kubectl("apply", "--server-side", "--field-manager=other", "-f", "-",
                               input=DEPLOY.replace("replicas: 2", "replicas: 3"), check=False)
    assert conflict.returncode != 0 and "conflict" in conflict.stderr.lower()
    cluster.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-",
                    input=DEPLOY.replace("replicas: 2", "replicas: 3"))
    assert cluster.json("get", "deploy", "web")["spec"]["replicas"] == 3


def test_dry_run_server_does_not_persist(cluster: Cluster) -> None:
    cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=CM)
    assert cluster.kubectl("get", "cm", "settings", check=False).returncode == 1


def test_strict_field_validation_rejects_unknown_fields(cluster: Cluster) -> None:
    bad = CM.replace("\ndata:", "\nbogus: 1\ndata:")
    out = cluster.kubectl("apply", "-f", "-", input=bad, check=False)
    assert out.returncode != 0 and 'unknown field "bogus"' in out.stderr
    warn = cluster.kubectl("apply", "--validate=warn", "-f", "-", input=bad)
    assert 'unknown field "bogus"' in warn.stderr


def test_invalid_object_gets_422_with_kube_message(cluster: Cluster) -> None:
    out = cluster.kubectl("apply", "-f", "-", input=CM.replace("name: settings", "name: Bad_Name"), check=False)
    assert out.returncode != 0
    assert 'is invalid: metadata.name: Invalid value: "Bad_Name"' in out.stderr


def test_get_all_lists_workloads(cluster: Cluster) -> None:
    cluster.apply(DEPLOY)
    out = cluster.kubectl("get", "all").stdout
    assert "deployment.apps/web" in out


def test_same_names_in_two_clusters_never_meet(cluster: Cluster, server: object, bins: tuple[str, str]) -> None:
    from tests.conftest import make_cluster

    other = make_cluster(cluster.server, bins, "isolation-other")
    cluster.apply(CM)
    other.apply(CM.replace("blue", "green"))
    assert cluster.json("get", "cm", "settings")["data"]["color"] == "blue"
    assert other.json("get", "cm", "settings")["data"]["color"] == "green"
    other.kubectl("delete", "cm", "settings")
    assert cluster.json("get", "cm", "settings")["data"]["color"] == "blue"
    assert other.kubectl("get", "cm", "settings", check=False).returncode == 1


def test_node_registers_with_its_status_as_a_kubelet_does(cluster: Cluster) -> None:
    cluster.apply(textwrap.dedent("""
        apiVersion: v1
        kind: Node
        metadata: {name: worker-1}
        status:
          conditions: [{type: Ready, status: "True", reason: KubeletReady, message: ready}]
          nodeInfo: {kubeletVersion: v1.37.0, architecture: amd64, bootID: "", containerRuntimeVersion: "",
                     kernelVersion: "", kubeProxyVersion: "", machineID: "", operatingSystem: linux, osImage: "",
                     systemUUID: ""}
        """))
    row = cluster.kubectl("get", "node", "worker-1", "--no-headers").stdout.split()
    assert row[1] == "Ready" and row[-1] == "v1.37.0"


def test_secret_string_data_is_merged_into_data_and_not_stored(cluster: Cluster) -> None:
    cluster.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ndata: {user: YWRtaW4=, password: b2xk}\n"
                  "stringData: {password: hunter2}\n")
    secret = cluster.json("get", "secret", "creds")
    assert "stringData" not in secret
    assert secret["data"] == {"user": "YWRtaW4=", "password": "aHVudGVyMg=="}
    cluster.kubectl("patch", "secret", "creds", "--type=merge", "-p", '{"stringData":{"token":"t0k"}}')
    assert cluster.json("get", "secret", "creds")["data"]["token"] == "dDBr"
