"""Virtual clusters: the VirtualCluster API with kubectl, the kubenest CLI end to end, isolation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from kubenest.testing import ServerThread
from tests.conftest import Cluster


@dataclass
class Cli:
    """The `kubenest` command with its own KUBENEST_HOME and user kubeconfig."""

    server: ServerThread
    home: str
    kubeconfig: str
    kubectl_bin: str

    def env(self) -> dict[str, str]:
        return dict(os.environ, KUBENEST_HOME=self.home, KUBECONFIG=self.kubeconfig,
                    KUBENEST_KUBECONFIG=os.path.join(self.server.data_dir, "admin.kubeconfig"))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "kubenest", *args], capture_output=True, text=True,
                              env=self.env(), timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubenest {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([self.kubectl_bin, *args], capture_output=True, text=True, env=self.env(), timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc


@pytest.fixture
def cli(server: ServerThread, bins: tuple[str, str], tmp_path: object) -> Iterator[Cli]:
    home = os.path.join(str(tmp_path), "home")
    os.makedirs(home)
    kubeconfig = os.path.join(str(tmp_path), "kube", "config")
    os.makedirs(os.path.dirname(kubeconfig))
    # The user starts on some other cluster (here: the management cluster under another name).
    admin = yaml.safe_load(open(os.path.join(server.data_dir, "admin.kubeconfig")))
    admin["contexts"][0]["name"] = admin["current-context"] = "work"
    with open(kubeconfig, "w") as f:
        yaml.safe_dump(admin, f)
    yield Cli(server, home, kubeconfig, bins[0])


def test_create_connects_kubectl_and_list_shows_it(cli: Cli) -> None:
    out = cli.run("create", "exp-1").stdout
    assert 'virtual cluster "exp-1" created (Kubernetes 1.37) in' in out
    assert 'switched kubectl context to "kubenest_exp-1"' in out
    assert cli.kubectl("config", "current-context").stdout.strip() == "kubenest_exp-1"
    assert cli.kubectl("get", "ns", "-o", "name").stdout.split() == [
        "namespace/default", "namespace/kube-node-lease", "namespace/kube-public", "namespace/kube-system"]
    cli.kubectl("create", "configmap", "mine", "--from-literal=a=b")
    table = cli.run("list").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "VERSION", "OWNER", "AGE"]
    row = next(line.split() for line in table if line.startswith("exp-1 "))
    assert row[:4] == ["exp-1", "Ready", "1.37", "kubernetes-admin"]
    items = json.loads(cli.run("list", "-o", "json").stdout)
    assert any(i["metadata"]["name"] == "exp-1" for i in items)
    cli.run("delete", "exp-1")


def test_disconnect_and_connect_switch_contexts(cli: Cli) -> None:
    cli.run("create", "exp-2", "--kubernetes-version", "1.30")
    assert cli.kubectl("version", "-o", "json").stdout.count('"minor": "30"') == 1
    assert "switched kubectl context back to \"work\"" in cli.run("disconnect").stdout
    assert cli.kubectl("config", "current-context").stdout.strip() == "work"
    cli.run("connect", "exp-2")
    assert cli.kubectl("config", "current-context").stdout.strip() == "kubenest_exp-2"
    printed = yaml.safe_load(cli.run("connect", "exp-2", "--print").stdout)
    assert printed["clusters"][0]["cluster"]["server"].endswith("/clusters/exp-2")
    kubeconfig = yaml.safe_load(cli.run("kubeconfig", "exp-2").stdout)
    assert kubeconfig["current-context"] == "kubenest_exp-2"
    cli.run("delete", "exp-2")
    assert "kubenest_exp-2" not in cli.kubectl("config", "get-contexts", "-o", "name").stdout
    assert cli.kubectl("config", "current-context").stdout.strip() == "work"


def test_cli_errors_are_one_line_and_non_zero(cli: Cli, tmp_path: object) -> None:
    cli.run("create", "dup", "--no-connect")
    again = cli.run("create", "dup", "--no-connect", check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == 'kubenest: virtualclusters.kubenest.io "dup" already exists'
    bad = cli.run("create", "Bad_Name", check=False)
    assert bad.returncode == 1 and "metadata.name: Invalid value" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    version = cli.run("create", "old", "--kubernetes-version", "1.12", check=False)
    assert version.returncode == 1 and 'Unsupported value: "1.12"' in version.stderr
    missing = cli.run("delete", "nope", check=False)
    assert missing.returncode == 1 and 'virtual cluster "nope" not found' in missing.stderr
    down = subprocess.run([sys.executable, "-m", "kubenest", "list", "--kubeconfig",
                           os.path.join(str(tmp_path), "nothing.kubeconfig")], capture_output=True, text=True)
    assert down.returncode == 1 and "start the server with `kubenest up`" in down.stderr
    cli.run("delete", "dup")


def test_server_not_running_is_reported(cli: Cli, tmp_path: object) -> None:
    admin = yaml.safe_load(open(os.path.join(cli.server.data_dir, "admin.kubeconfig")))
    admin["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1/clusters/root"
    path = os.path.join(str(tmp_path), "stale.kubeconfig")
    with open(path, "w") as f:
        yaml.safe_dump(admin, f)
    out = cli.run("list", "--kubeconfig", path, check=False)
    assert out.returncode == 1
    assert "cannot reach the kubenest server at https://127.0.0.1:1/clusters/root" in out.stderr
    assert "kubenest up" in out.stderr


def test_virtual_cluster_api_with_kubectl(cluster: Cluster, server: ServerThread, bins: tuple[str, str]) -> None:
    root = Cluster(server, "root", os.path.join(server.data_dir, "admin.kubeconfig"), bins[0], bins[1])
    root.apply("apiVersion: kubenest.io/v1alpha1\nkind: VirtualCluster\nmetadata: {name: via-kubectl}\n"
               "spec: {owner: alice}\n")
    root.kubectl("wait", "--for=condition=Ready", "vc/via-kubectl", "--timeout=10s")
    header = root.kubectl("get", "vc").stdout.splitlines()[0].split()
    assert header == ["NAME", "STATUS", "VERSION", "OWNER", "AGE"]
    vc = root.json("get", "vc", "via-kubectl")
    assert vc["status"]["phase"] == "Ready" and vc["status"]["endpoint"].endswith("/clusters/via-kubectl")
    assert "virtualclusters" in root.kubectl("api-resources", "--api-group=kubenest.io").stdout
    assert "kubernetesVersion" in root.kubectl("explain", "vc.spec").stdout
    immutable = root.kubectl("patch", "vc", "via-kubectl", "--type=merge", "-p",
                             '{"spec":{"kubernetesVersion":"1.30"}}', check=False)
    assert immutable.returncode != 0 and "field is immutable" in immutable.stderr
    reserved = root.kubectl("apply", "-f", "-", input="apiVersion: kubenest.io/v1alpha1\nkind: VirtualCluster\n"
                            "metadata: {name: root}\n", check=False)
    assert reserved.returncode != 0 and "reserved for kubenest" in reserved.stderr
    root.kubectl("delete", "vc", "via-kubectl", "--timeout=20s")
    assert root.kubectl("get", "vc", "via-kubectl", check=False).returncode != 0


def test_owner_gets_a_real_cluster_admin_binding_and_tokens_are_cluster_bound(cli: Cli) -> None:
    cli.run("create", "team-a", "--owner", "alice", "--no-connect")
    cli.run("create", "team-b", "--owner", "bob", "--no-connect")
    a = yaml.safe_load(cli.run("kubeconfig", "team-a").stdout)
    b = yaml.safe_load(cli.run("kubeconfig", "team-b").stdout)
    path_a = os.path.join(cli.home, "a.kubeconfig")
    with open(path_a, "w") as f:
        yaml.safe_dump(a, f)
    whoami = json.loads(cli.kubectl("--kubeconfig", path_a, "auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"]["username"] == "alice"
    crb = json.loads(cli.kubectl("--kubeconfig", path_a, "get", "clusterrolebinding", "kubenest-owner",
                                 "-o", "json").stdout)
    assert crb["roleRef"]["name"] == "cluster-admin" and crb["subjects"][0]["name"] == "alice"
    # team-a's token used against team-b's server URL: 401.
    a["clusters"][0]["cluster"]["server"] = b["clusters"][0]["cluster"]["server"]
    path_cross = os.path.join(cli.home, "cross.kubeconfig")
    with open(path_cross, "w") as f:
        yaml.safe_dump(a, f)
    denied = cli.kubectl("--kubeconfig", path_cross, "get", "ns", check=False)
    assert denied.returncode != 0 and "You must be logged in to the server" in denied.stderr
    cli.run("delete", "team-a")
    cli.run("delete", "team-b")


def test_deleting_a_virtual_cluster_removes_only_its_objects(cli: Cli) -> None:
    cli.run("create", "keep", "--no-connect")
    cli.run("create", "drop")
    cli.kubectl("create", "configmap", "same", "--from-literal=who=drop")
    cli.run("connect", "keep")
    cli.kubectl("create", "configmap", "same", "--from-literal=who=keep")
    cli.run("delete", "drop")
    assert cli.kubectl("get", "cm", "same", "-o", "jsonpath={.data.who}").stdout == "keep"
    store = cli.server.server.store
    assert store.clusters_with("configmaps").count("drop") == 0
    cli.run("create", "drop", "--no-connect")
    cli.run("connect", "drop")
    assert cli.kubectl("get", "cm", "same", check=False).returncode != 0
    cli.run("delete", "drop")
    cli.run("delete", "keep")


def test_kubectl_get_vc_watch_shows_the_transitions(server: ServerThread, bins: tuple[str, str]) -> None:
    root = Cluster(server, "root", os.path.join(server.data_dir, "admin.kubeconfig"), bins[0], bins[1])
    env = dict(os.environ, KUBECONFIG=root.kubeconfig)
    # `get NAME -w` needs the object to exist; its first line is the state when the watch starts.
    root.apply("apiVersion: kubenest.io/v1alpha1\nkind: VirtualCluster\nmetadata: {name: watched}\n")
    watch = subprocess.Popen([bins[0], "get", "vc", "watched", "-w", "--request-timeout=8s",
                              "-o", "custom-columns=NAME:.metadata.name,STATUS:.status.phase", "--no-headers"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    root.kubectl("wait", "--for=condition=Ready", "vc/watched", "--timeout=10s")
    time.sleep(1.0)  # let the watching kubectl get past its initial read before the object goes
    root.kubectl("delete", "vc", "watched", "--timeout=20s")
    try:
        out, _ = watch.communicate(timeout=20)
    finally:
        watch.kill()
    phases = [line.split()[1] for line in out.splitlines() if line.strip()]
    assert "Ready" in phases and "Deleting" in phases
    assert phases.index("Ready") < phases.index("Deleting")
