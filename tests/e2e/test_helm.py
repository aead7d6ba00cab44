"""The helm 4 release lifecycle against a real server, with the real helm binary.

`helm create` gives a chart with a ServiceAccount, a Service and a Deployment; installs run without
`--wait` because nothing runs the pods. Release state lives in Secrets (`owner=helm`), as with any
cluster, so the tests also check those.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cluster

RELEASE = "demo"  # the chart is also named demo, so every object is named "demo"
KINDS = ("deployment", "service", "serviceaccount")


@pytest.fixture
def helm(cluster: Cluster, tmp_path: Path) -> Any:
    """Run helm with its caches and config under tmp_path; returns a `helm(*args)` callable."""
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return cluster.helm(*args, env=env, check=check)

    return run


@pytest.fixture
def chart(helm: Any, tmp_path: Path) -> str:
    """A fresh `helm create demo` chart."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        helm("create", "demo")
    finally:
        os.chdir(cwd)
    return str(tmp_path / "demo")


def _release_secrets(cluster: Cluster) -> list[str]:
    out = cluster.kubectl("get", "secrets", "-l", f"owner=helm,name={RELEASE}", "-o", "name").stdout
    return out.split()


def _replicas(cluster: Cluster) -> int:
    return int(cluster.json("get", "deployment", RELEASE)["spec"]["replicas"])


def test_install_creates_the_chart_objects_and_a_release_secret(cluster: Cluster, helm: Any, chart: str) -> None:
    out = helm("install", RELEASE, chart).stdout
    assert f"NAME: {RELEASE}" in out and "STATUS: deployed" in out and "REVISION: 1" in out
    for kind in KINDS:
        obj = cluster.json("get", kind, RELEASE)
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert obj["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE
        assert obj["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == "default"
    assert _release_secrets(cluster) == [f"secret/sh.helm.release.v1.{RELEASE}.v1"]
    secret = cluster.json("get", "secret", f"sh.helm.release.v1.{RELEASE}.v1")
    assert secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["labels"]["status"] == "deployed"


def test_install_uses_server_side_apply_by_default(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    deploy = cluster.json("get", "deployment", RELEASE, "--show-managed-fields")
    managers = {(m["manager"], m["operation"]) for m in deploy["metadata"]["managedFields"]}
    assert ("helm", "Apply") in managers
    # Defaults the server filled in are there, as after any create.
    assert deploy["spec"]["strategy"]["type"] == "RollingUpdate"


def test_install_with_client_side_apply(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart, "--server-side=false")
    deploy = cluster.json("get", "deployment", RELEASE, "--show-managed-fields")
    managers = {(m["manager"], m["operation"]) for m in deploy["metadata"]["managedFields"]}
    assert ("helm", "Update") in managers and ("helm", "Apply") not in managers
    helm("upgrade", RELEASE, chart, "--server-side=false", "--set", "replicaCount=3",
         "--set", "podAnnotations.team=ml")
    deploy = cluster.json("get", "deployment", RELEASE)
    assert deploy["spec"]["replicas"] == 3 and deploy["metadata"]["generation"] == 2
    assert deploy["spec"]["template"]["metadata"]["annotations"] == {"team": "ml"}
    # The three-way merge patch of the rollback removes what revision 2 added.
    helm("rollback", RELEASE, "1")
    deploy = cluster.json("get", "deployment", RELEASE)
    assert deploy["spec"]["replicas"] == 1
    assert "annotations" not in deploy["spec"]["template"]["metadata"]


def test_list_and_status_report_the_release(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    listed = json.loads(helm("list", "-o", "json").stdout)
    assert [(r["name"], r["namespace"], r["revision"], r["status"], r["chart"]) for r in listed] == [
        (RELEASE, "default", "1", "deployed", "demo-0.1.0")]
    status = json.loads(helm("status", RELEASE, "-o", "json").stdout)
    assert status["name"] == RELEASE and status["version"] == 1
    assert status["info"]["status"] == "deployed"


def test_get_manifest_returns_the_rendered_objects(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    docs = [d for d in yaml.safe_load_all(helm("get", "manifest", RELEASE).stdout) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == [
        ("Deployment", RELEASE), ("Service", RELEASE), ("ServiceAccount", RELEASE)]


def test_upgrade_history_and_rollback(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    assert _replicas(cluster) == 1
    first_uid = cluster.json("get", "deployment", RELEASE)["metadata"]["uid"]
    out = helm("upgrade", RELEASE, chart, "--set", "replicaCount=3", "--set", "image.tag=1.27",
               "--set", "podAnnotations.team=ml", "--set", "resources.limits.cpu=500m").stdout
    assert "REVISION: 2" in out
    deploy = cluster.json("get", "deployment", RELEASE)
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["metadata"]["annotations"] == {"team": "ml"}
    assert deploy["spec"]["template"]["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m"}}
    assert json.loads(helm("get", "values", RELEASE, "-o", "json").stdout)["replicaCount"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert deploy["metadata"]["uid"] == first_uid  # upgraded in place, not recreated
    assert deploy["metadata"]["generation"] == 2
    history = json.loads(helm("history", RELEASE, "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]
    assert "Rollback was a success" in helm("rollback", RELEASE, "1").stdout
    deploy = cluster.json("get", "deployment", RELEASE)
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.0"
    # Server-side apply drops the fields the rolled-back configuration no longer sets.
    assert "annotations" not in deploy["spec"]["template"]["metadata"]
    assert deploy["spec"]["template"]["spec"]["containers"][0].get("resources", {}) == {}
    assert deploy["metadata"]["uid"] == first_uid
    history = json.loads(helm("history", RELEASE, "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [
        (1, "superseded"), (2, "superseded"), (3, "deployed")]
    assert history[2]["description"] == "Rollback to 1"
    assert _release_secrets(cluster) == [f"secret/sh.helm.release.v1.{RELEASE}.v{i}" for i in (1, 2, 3)]


def test_uninstall_removes_the_objects_and_release_secrets(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    helm("upgrade", RELEASE, chart, "--set", "replicaCount=2")
    assert len(_release_secrets(cluster)) == 2
    assert f'release "{RELEASE}" uninstalled' in helm("uninstall", RELEASE).stdout
    for kind in KINDS:
        gone = cluster.kubectl("get", kind, RELEASE, check=False)
        assert gone.returncode == 1 and "not found" in gone.stderr
    assert _release_secrets(cluster) == []
    assert json.loads(helm("list", "-o", "json").stdout) == []


def test_dry_run_server_persists_nothing(cluster: Cluster, helm: Any, chart: str) -> None:
    out = helm("install", RELEASE, chart, "--dry-run=server").stdout
    assert "STATUS: pending-install" in out
    docs = [d for d in yaml.safe_load_all(out.split("MANIFEST:", 1)[1].split("NOTES:", 1)[0]) if d]
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "ServiceAccount"}
    for kind in KINDS:
        assert cluster.kubectl("get", kind, RELEASE, check=False).returncode == 1
    assert _release_secrets(cluster) == []
    assert json.loads(helm("list", "--pending", "-o", "json").stdout) == []


def test_install_into_a_new_namespace(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart, "-n", "apps", "--create-namespace", "--set", "service.port=8080")
    svc = cluster.json("get", "service", RELEASE, "-n", "apps")
    assert svc["spec"]["ports"][0]["port"] == 8080
    assert svc["spec"]["clusterIP"]
    listed = json.loads(helm("list", "-A", "-o", "json").stdout)
    assert [(r["name"], r["namespace"]) for r in listed] == [(RELEASE, "apps")]


def test_upgrade_install_creates_then_upgrades(cluster: Cluster, helm: Any, chart: str) -> None:
    assert "REVISION: 1" in helm("upgrade", "--install", RELEASE, chart).stdout
    assert "REVISION: 2" in helm("upgrade", "--install", RELEASE, chart, "--set", "replicaCount=2").stdout
    assert _replicas(cluster) == 2


def test_uninstall_keep_history_leaves_an_uninstalled_release(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    helm("uninstall", RELEASE, "--keep-history")
    assert cluster.kubectl("get", "deployment", RELEASE, check=False).returncode == 1
    listed = json.loads(helm("list", "--uninstalled", "-o", "json").stdout)
    assert [(r["name"], r["status"]) for r in listed] == [(RELEASE, "uninstalled")]
    assert _release_secrets(cluster) == [f"secret/sh.helm.release.v1.{RELEASE}.v1"]


def test_upgrade_deletes_objects_the_chart_no_longer_renders(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    sa_uid = cluster.json("get", "serviceaccount", RELEASE)["metadata"]["uid"]
    helm("upgrade", RELEASE, chart, "--set", "serviceAccount.create=false")
    gone = cluster.kubectl("get", "serviceaccount", RELEASE, check=False)
    assert gone.returncode == 1 and "not found" in gone.stderr
    assert cluster.json("get", "deployment", RELEASE)["spec"]["template"]["spec"]["serviceAccountName"] == "default"
    helm("rollback", RELEASE, "1")
    back = cluster.json("get", "serviceaccount", RELEASE)
    assert back["metadata"]["uid"] != sa_uid  # created anew
    assert cluster.json("get", "deployment", RELEASE)["spec"]["template"]["spec"]["serviceAccountName"] == RELEASE


def test_upgrade_dry_run_server_changes_nothing(cluster: Cluster, helm: Any, chart: str) -> None:
    helm("install", RELEASE, chart)
    before = cluster.json("get", "deployment", RELEASE)
    out = helm("upgrade", RELEASE, chart, "--dry-run=server", "--set", "replicaCount=5").stdout
    assert "REVISION: 2" in out and "replicas: 5" in out
    after = cluster.json("get", "deployment", RELEASE)
    assert after["spec"]["replicas"] == 1
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert _release_secrets(cluster) == [f"secret/sh.helm.release.v1.{RELEASE}.v1"]
