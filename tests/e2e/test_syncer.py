"""The syncer end to end: VirtualClusters made through the root API, driven with kubectl, checked on the host.

Two hosts: the embedded one (the same process, reached over HTTPS like any host) and a second `kubenest up`
process reached only through its kubeconfig. Pods tolerate the simulated nodes' taint, so the host's
scheduler and simulated kubelets run them and their status flows up.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import yaml

from kubenest.store.store import Event
from kubenest.syncer import translate as tr
from kubenest.testing import ServerThread
from tests.waiting import eventually

T = TypeVar("T")

POD_TOLERATION = {"key": "kubenest.io/simulated", "operator": "Exists"}




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubenest_up(data_dir: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """A `kubenest up` process; returns once it serves (its admin.kubeconfig is written then)."""
    log = open(os.path.join(data_dir, "up.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "kubenest", "up", "--data-dir", data_dir, "--port", str(port),
                             "--no-process-node", *extra], stdout=log, stderr=subprocess.STDOUT)
    kubeconfig = os.path.join(data_dir, "admin.kubeconfig")
    deadline = time.time() + 60
    while not os.path.exists(kubeconfig):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError(f"kubenest up exited: {open(os.path.join(data_dir, 'up.log')).read()}")
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class Env:
    """A server under test (with its syncer) and the host it syncs to, with kubectl for both."""

    kind: str
    server: ServerThread
    root_kubeconfig: str
    host_kubeconfig: str
    host_context: str
    kubectl_bin: str
    tmp: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, kubeconfig: str, *args: str, input: str | None = None, check: bool = True,
            context: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [self.kubectl_bin, "--kubeconfig", kubeconfig, *(["--context", context] if context else []), *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, HOME=self.tmp))
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def host(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(self.host_kubeconfig, *args, check=check, context=self.host_context)

    def host_json(self, *args: str) -> Any:
        return json.loads(self.host(*args, "-o", "json").stdout)

    def host_names(self, kind: str, ns: str) -> set[str]:
        return set(self.host("get", kind, "-n", ns, "-o", "name", "--ignore-not-found").stdout.split())

    def create_vc(self, name: str, spec: dict[str, Any] | None = None) -> VCluster:
        vc = {"apiVersion": "kubenest.io/v1alpha1", "kind": "VirtualCluster", "metadata": {"name": name},
              "spec": spec or {}}
        self.run(self.root_kubeconfig, "apply", "-f", "-", input=json.dumps(vc))
        self.run(self.root_kubeconfig, "wait", f"vc/{name}", "--for=jsonpath={.status.phase}=Ready",
                 "--timeout=30s")
        secret = json.loads(self.run(self.root_kubeconfig, "get", "secret", "-n", "kubenest-system", f"vc-{name}",
                                     "-o", "json").stdout)
        path = os.path.join(self.tmp, f"{name}.kubeconfig")
        with open(path, "wb") as f:
            f.write(base64.b64decode(secret["data"]["config"]))
        v = VCluster(self, name, path)
        # The namespace's default service account is there a moment after the namespace.
        eventually(lambda: v.kubectl("get", "sa", "default", check=False).returncode == 0, what="default sa")
        return v

    def delete_vc(self, name: str) -> None:
        self.run(self.root_kubeconfig, "delete", "vc", name, "--wait=true", "--timeout=30s")


@dataclass
class VCluster:
    env: Env
    name: str
    kubeconfig: str

    @property
    def hns(self) -> str:
        return tr.host_namespace(self.name)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.env.run(self.kubeconfig, *args, input=input, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, *objs: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(o) for o in objs))

    def host_get(self, kind: str, name: str, ns: str = "default") -> Any:
        proc = self.env.host("get", kind, "-n", self.hns, tr.host_name(name, ns, self.name), "-o", "json",
                             "--ignore-not-found")
        return json.loads(proc.stdout) if proc.stdout.strip() else None


def pod(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    container = {"name": "app", "image": "busybox", "command": ["sleep", "3600"]}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {"tolerations": [POD_TOLERATION], "containers": [container], **spec}}


def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}


def service(name: str, selector: dict[str, str] | None, port: int = 80) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"port": port, "targetPort": port}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def bins_kubectl(bins: tuple[str, str]) -> str:
    return bins[0]


@pytest.fixture(scope="module", params=["embedded", "kubeconfig"])
def env(request: pytest.FixtureRequest, bins_kubectl: str) -> Iterator[Env]:
    tmp = tempfile.mkdtemp(prefix="kubenest-sync-")
    procs: list[subprocess.Popen[bytes]] = []
    if request.param == "embedded":
        st = ServerThread(os.path.join(tmp, "server"), durable=False, simulated_nodes=2, process_node=False)
        host_kubeconfig = os.path.join(st.data_dir, "host.kubeconfig")
    else:
        host_dir = os.path.join(tmp, "host")
        os.makedirs(host_dir)
        procs.append(kubenest_up(host_dir, free_port(), "--simulated-nodes", "2"))
        # The host process's own embedded host cluster is where its nodes and scheduler are.
        host_kubeconfig = os.path.join(host_dir, "host.kubeconfig")
        st = ServerThread(os.path.join(tmp, "server"), durable=False, host_kubeconfig=host_kubeconfig,
                          host_context="kubenest-host", process_node=False)
    e = Env(request.param, st, os.path.join(st.data_dir, "admin.kubeconfig"), host_kubeconfig, "kubenest-host",
            bins_kubectl, tmp, procs)
    yield e
    st.stop()
    for p in procs:
        stop(p)
    shutil.rmtree(tmp, ignore_errors=True)


_n = iter(range(10_000))


def vc_name(hint: str) -> str:
    return f"{hint}-{next(_n)}"


# -- core behaviour, on both hosts ------------------------------------------------------------------------


def test_objects_appear_on_host_with_translated_names_and_origin_labels(env: Env) -> None:
    v = env.create_vc(vc_name("sync"))
    ns_obj = eventually(lambda: env.host_json("get", "ns", v.hns), what="host namespace")
    assert ns_obj["metadata"]["labels"][tr.MANAGED_BY] == "kubenest"
    assert ns_obj["metadata"]["labels"][tr.CLUSTER_LABEL] == v.name
    p = pod("web", container={"envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "creds"}}]})
    v.apply(configmap("cfg", {"a": "1"}), secret("creds", {"pw": "s3cret"}), configmap("unused", {"x": "y"}),
            service("web", {"app": "web"}), p)
    uid = v.json("get", "pod", "web")["metadata"]["uid"]
    hp = eventually(lambda: v.host_get("pod", "web"), what="host pod")
    assert hp["metadata"]["name"] == "web-x-default-x-" + v.name
    assert hp["metadata"]["labels"] == {"app": "web", tr.MANAGED_BY: "kubenest", tr.CLUSTER_LABEL: v.name,
                                        tr.NAMESPACE_LABEL: "default"}
    ann = hp["metadata"]["annotations"]
    assert (ann[tr.NAME_ANNOTATION], ann[tr.NAMESPACE_ANNOTATION], ann[tr.UID_ANNOTATION]) == ("web", "default", uid)
    c = hp["spec"]["containers"][0]
    assert c["envFrom"] == [{"configMapRef": {"name": f"cfg-x-default-x-{v.name}"}},
                            {"secretRef": {"name": f"creds-x-default-x-{v.name}"}}]
    assert hp["spec"]["automountServiceAccountToken"] is False and hp["spec"]["enableServiceLinks"] is False
    env_vars = {e["name"]: e.get("value") for e in c["env"]}
    assert env_vars["KUBERNETES_SERVICE_PORT"] == str(env.server.port)
    cm = eventually(lambda: v.host_get("configmap", "cfg"), what="host configmap")
    assert cm["data"] == {"a": "1"}
    sec = eventually(lambda: v.host_get("secret", "creds"), what="host secret")
    assert base64.b64decode(sec["data"]["pw"]) == b"s3cret"
    svc = eventually(lambda: v.host_get("service", "web"), what="host service")
    assert svc["spec"]["selector"] == {"app": "web", tr.NAMESPACE_LABEL: "default"}
    assert v.host_get("configmap", "unused") is None  # only what pods use is synced
    # The service account token Secret: token, CA and namespace.
    token_secret = env.host_json("get", "secret", "-n", v.hns, tr.token_secret_name("web", "default", v.name))
    assert sorted(token_secret["data"]) == ["ca.crt", "namespace", "token"]


def test_updates_and_deletions_propagate(env: Env) -> None:
    v = env.create_vc(vc_name("upd"))
    v.apply(configmap("cfg", {"a": "1"}), pod("app", container={"envFrom": [{"configMapRef": {"name": "cfg"}}]}),
            service("app", {"app": "app"}))
    eventually(lambda: v.host_get("configmap", "cfg"), what="host configmap")
    v.apply(configmap("cfg", {"a": "2", "b": "3"}))
    eventually(lambda: (v.host_get("configmap", "cfg") or {}).get("data") == {"a": "2", "b": "3"},
               what="configmap update on host")
    v.kubectl("label", "pod", "app", "tier=front")
    v.kubectl("set", "image", "pod/app", "app=busybox:2")
    hp = eventually(lambda: (lambda p: p if p and p["metadata"]["labels"].get("tier") == "front" and
                             p["spec"]["containers"][0]["image"] == "busybox:2" else None)(v.host_get("pod", "app")),
                    what="pod label and image on host")
    assert hp["spec"].get("nodeName")  # scheduled by the host and kept
    v.kubectl("patch", "service", "app", "--type=merge", "-p", json.dumps({"spec": {"ports": [{"port": 81, "targetPort": 81}]}}))
    eventually(lambda: [p["port"] for p in (v.host_get("service", "app") or {"spec": {"ports": []}})["spec"]["ports"]]
               == [81], what="service port on host")
    v.kubectl("delete", "service", "app")
    eventually(lambda: v.host_get("service", "app") is None, what="host service deleted")
    v.kubectl("delete", "pod", "app", "--wait=true", "--timeout=30s")
    eventually(lambda: v.host_get("pod", "app") is None, what="host pod deleted")
    # The configmap is no longer used by any pod: its host copy goes too; deleting it virtually is fine.
    eventually(lambda: v.host_get("configmap", "cfg") is None, what="unused configmap removed from host")
    assert not env.host_names("secret", v.hns)  # the pod's token Secret went with it


def test_status_node_and_events_flow_up(env: Env) -> None:
    v = env.create_vc(vc_name("up"))
    v.apply(pod("runner"))
    vp = eventually(lambda: (lambda p: p if p["status"].get("phase") == "Running" else None)(
        v.json("get", "pod", "runner")), what="virtual pod Running")
    hp = v.host_get("pod", "runner")
    node = hp["spec"]["nodeName"]
    assert vp["spec"]["nodeName"] == node
    assert vp["status"]["podIP"] == hp["status"]["podIP"] and vp["status"]["hostIP"] == hp["status"]["hostIP"]
    assert vp["status"]["containerStatuses"][0]["ready"] is True
    assert {c["type"]: c["status"] for c in vp["status"]["conditions"]}["Ready"] == "True"
    vnode = eventually(lambda: v.json("get", "nodes")["items"], what="virtual node")
    assert [n["metadata"]["name"] for n in vnode] == [node]
    assert vnode[0]["metadata"]["labels"].get("kubenest.io/runtime") == "simulated"
    events = eventually(lambda: [e for e in v.json("get", "events")["items"]
                                 if e["involvedObject"]["name"] == "runner" and e["reason"] == "Scheduled"],
                        what="Scheduled event in the virtual cluster")
    assert events[0]["involvedObject"]["uid"] == vp["metadata"]["uid"]
    v.kubectl("delete", "pod", "runner", "--wait=true", "--timeout=30s")
    eventually(lambda: not v.json("get", "nodes")["items"], what="virtual node removed with the last pod")


def test_two_virtual_clusters_with_identical_names_never_collide(env: Env) -> None:
    a, b = env.create_vc(vc_name("twin")), env.create_vc(vc_name("twin"))
    for v, value in ((a, "from-a"), (b, "from-b")):
        v.apply(configmap("cfg", {"who": value}), pod("web", container={"envFrom": [{"configMapRef": {"name": "cfg"}}]}),
                service("web", {"app": "web"}))
    for v, value in ((a, "from-a"), (b, "from-b")):
        cm = eventually(lambda v=v: v.host_get("configmap", "cfg"), what="host configmap")
        assert cm["data"] == {"who": value} and cm["metadata"]["namespace"] == v.hns
        eventually(lambda v=v: v.host_get("pod", "web"), what="host pod")
        eventually(lambda v=v: v.host_get("service", "web"), what="host service")
    a.kubectl("delete", "pod", "web", "--wait=true", "--timeout=30s")
    eventually(lambda: a.host_get("pod", "web") is None, what="a's host pod deleted")
    assert b.host_get("pod", "web") is not None


def test_deleting_a_virtual_cluster_leaves_nothing_on_the_host(env: Env) -> None:
    v = env.create_vc(vc_name("gone"))
    v.apply(configmap("cfg", {"a": "1"}), pod("p", container={"envFrom": [{"configMapRef": {"name": "cfg"}}]}),
            service("s", {"app": "p"}))
    eventually(lambda: v.host_get("pod", "p"), what="host pod")
    env.delete_vc(v.name)
    eventually(lambda: env.host("get", "ns", v.hns, check=False).returncode != 0, what="host namespace gone")
    left = env.host("get", "pods,services,configmaps,secrets", "-A", "-l", f"{tr.CLUSTER_LABEL}={v.name}",
                    "-o", "name").stdout.split()
    assert left == []


# -- embedded host -----------------------------------------------------------------------------------------


def embedded_only(env: Env) -> None:
    if env.kind != "embedded":
        pytest.skip("covered once, on the embedded host")


def test_bare_logical_clusters_are_not_synced(env: Env, bins_kubectl: str) -> None:
    embedded_only(env)
    env.server.create_cluster("bare-one")
    path = env.server.write_kubeconfig("bare-one")
    env.run(path, "apply", "-f", "-", input=json.dumps(pod("lonely")))
    v = env.create_vc(vc_name("real"))  # a later virtual cluster's sync shows the syncer is working
    v.apply(pod("p"))
    eventually(lambda: v.host_get("pod", "p"), what="virtual cluster's pod on host")
    assert env.host("get", "ns", tr.host_namespace("bare-one"), check=False).returncode != 0
    assert not env.host("get", "pods", "-A", "-l", f"{tr.CLUSTER_LABEL}=bare-one", "-o", "name").stdout.split()
    assert env.server.server.syncer.streams_for("bare-one") is None


def test_graceful_deletion_goes_through_the_host_pod(env: Env) -> None:
    embedded_only(env)
    v = env.create_vc(vc_name("grace"))
    v.apply(pod("slow"))
    eventually(lambda: v.json("get", "pod", "slow")["spec"].get("nodeName"), what="virtual pod bound")
    v.kubectl("delete", "pod", "slow", "--grace-period=7", "--wait=false")
    # The host pod is deleted with the same grace; once it is gone the virtual pod is finalised.
    eventually(lambda: v.kubectl("get", "pod", "slow", check=False).returncode != 0, what="virtual pod gone")
    assert v.host_get("pod", "slow") is None


def test_host_pod_deleted_externally_deletes_the_virtual_pod(env: Env) -> None:
    embedded_only(env)
    v = env.create_vc(vc_name("evict"))
    v.apply(pod("victim"))
    hp = eventually(lambda: v.host_get("pod", "victim"), what="host pod")
    env.host("delete", "pod", "-n", v.hns, hp["metadata"]["name"], "--wait=true")
    eventually(lambda: v.kubectl("get", "pod", "victim", check=False).returncode != 0, what="virtual pod deleted")


def test_restart_resync_neither_duplicates_nor_loses_anything(env: Env) -> None:
    embedded_only(env)
    v = env.create_vc(vc_name("resync"))
    v.apply(configmap("cfg", {"a": "1"}), pod("keep", container={"envFrom": [{"configMapRef": {"name": "cfg"}}]}),
            pod("drop"), service("keep", {"app": "keep"}), service("drop", {"app": "drop"}))
    for kind, name in (("pod", "keep"), ("pod", "drop"), ("service", "drop"), ("configmap", "cfg")):
        eventually(lambda kind=kind, name=name: v.host_get(kind, name), what=f"host {kind} {name}")
    keep_uid = v.host_get("pod", "keep")["metadata"]["uid"]
    syncer = env.server.server.syncer
    env.server.call(syncer.stop())
    v.kubectl("delete", "pod", "drop", "--wait=false")
    v.kubectl("delete", "service", "drop")
    v.apply(configmap("cfg", {"a": "2"}), pod("new"), service("new", {"app": "new"}))
    time.sleep(0.3)
    assert v.host_get("pod", "new") is None  # nothing syncs while stopped
    env.server.call(syncer.start())
    env.server.call(syncer.idle(20))
    eventually(lambda: v.host_get("pod", "new"), what="pod made while stopped")
    eventually(lambda: v.host_get("service", "new"), what="service made while stopped")
    eventually(lambda: v.host_get("pod", "drop") is None, what="pod deleted while stopped")
    eventually(lambda: v.host_get("service", "drop") is None, what="service deleted while stopped")
    eventually(lambda: v.host_get("configmap", "cfg")["data"] == {"a": "2"}, what="configmap changed while stopped")
    eventually(lambda: v.kubectl("get", "pod", "drop", check=False).returncode != 0, what="virtual pod finalised")
    assert v.host_get("pod", "keep")["metadata"]["uid"] == keep_uid  # adopted, not recreated
    pods = env.host("get", "pods", "-n", v.hns, "-o", "name").stdout.split()
    assert sorted(pods) == sorted(f"pod/{tr.host_name(n, 'default', v.name)}" for n in ("keep", "new"))


def created(v: VCluster, obj: dict[str, Any]) -> Any:
    """`kubectl create` of `obj`: the object as the create answered it."""
    return json.loads(v.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(obj)).stdout)


def with_spec(obj: dict[str, Any], **spec: Any) -> dict[str, Any]:
    obj["spec"].update(spec)
    return obj


def test_virtual_service_cluster_ip_is_the_host_services(env: Env) -> None:
    v = env.create_vc(vc_name("svcip"))
    svc = created(v, service("web", {"app": "web"}))
    ip = svc["spec"]["clusterIP"]
    assert ip and ip != "None" and svc["spec"]["clusterIPs"] == [ip]
    hs = v.host_get("service", "web")  # made during the create request, not after it
    assert (hs["spec"]["clusterIP"], hs["spec"]["clusterIPs"]) == (ip, [ip])
    assert v.json("get", "service", "web")["spec"]["clusterIP"] == ip
    # An address the user asks for is kept on both sides.
    fixed = f"10.{100 + next(_n) % 50}.7.9"
    assert created(v, with_spec(service("fixed", {"app": "web"}), clusterIP=fixed))["spec"]["clusterIPs"] == [fixed]
    assert v.host_get("service", "fixed")["spec"]["clusterIP"] == fixed
    # One the host has given to another cluster's Service: the host's refusal, about the virtual name.
    other = env.create_vc(vc_name("svcip"))
    r = other.kubectl("create", "-f", "-", input=json.dumps(with_spec(service("clash", None), clusterIP=ip)),
                      check=False)
    assert r.returncode != 0
    assert 'Service "clash" is invalid' in r.stderr and "provided IP is already allocated" in r.stderr, r.stderr
    assert "-x-" not in r.stderr
    assert other.kubectl("get", "service", "clash", check=False).returncode != 0
    assert other.host_get("service", "clash") is None
    # Headless stays headless; ExternalName is synced as it is.
    assert created(v, with_spec(service("headless", {"app": "web"}), clusterIP="None"))["spec"]["clusterIP"] == "None"
    assert eventually(lambda: v.host_get("service", "headless"), what="headless on host")["spec"]["clusterIP"] == "None"
    ext = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
           "spec": {"type": "ExternalName", "externalName": "db.example.com"}}
    assert "clusterIP" not in created(v, ext)["spec"]
    hext = eventually(lambda: v.host_get("service", "ext"), what="ExternalName on host")
    assert (hext["spec"]["type"], hext["spec"]["externalName"]) == ("ExternalName", "db.example.com")
    assert not hext["spec"].get("clusterIP")
    # Status (load balancer ingress) comes up from the host Service.
    ingress = [{"ip": "203.0.113.7"}]
    env.host("patch", "service", "-n", v.hns, tr.host_name("web", "default", v.name), "--subresource=status",
             "--type=merge", "-p", json.dumps({"status": {"loadBalancer": {"ingress": ingress}}}))
    eventually(lambda: v.json("get", "service", "web").get("status", {}).get("loadBalancer", {}).get("ingress")
               == ingress, what="load balancer ingress in the virtual cluster")
    assert v.json("get", "service", "web")["metadata"]["uid"] == svc["metadata"]["uid"]


def test_service_addresses_survive_restarts_and_host_changes(env: Env) -> None:
    embedded_only(env)
    v = env.create_vc(vc_name("svcre"))
    stable = created(v, service("stable", {"app": "a"}))
    hstable = v.host_get("service", "stable")
    syncer = env.server.server.syncer
    env.server.call(syncer.stop())
    # Made while the syncer is away: the virtual allocator's address, which the host then takes too...
    offline = created(v, service("offline", {"app": "a"}))
    # ...unless the host has given it away meanwhile: then the virtual Service is made again with the host's.
    taken = created(v, service("taken", {"app": "a"}))
    env.host("create", "service", "clusterip", f"squatter-{next(_n)}", "--tcp=80",
             f"--clusterip={taken['spec']['clusterIP']}", "-n", "default")
    env.server.call(syncer.start())
    env.server.call(syncer.idle(20))
    hoffline = eventually(lambda: v.host_get("service", "offline"), what="host service of offline")
    assert hoffline["spec"]["clusterIP"] == offline["spec"]["clusterIP"]

    def recreated() -> Any:
        now, host_svc = v.json("get", "service", "taken"), v.host_get("service", "taken")
        ok = host_svc and now["spec"]["clusterIP"] == host_svc["spec"]["clusterIP"]
        return (now, host_svc) if ok and now["metadata"]["uid"] != taken["metadata"]["uid"] else None

    now, htaken = eventually(recreated, what="virtual service recreated with the host's ClusterIP")
    assert htaken["spec"]["clusterIP"] != taken["spec"]["clusterIP"]
    assert htaken["metadata"]["annotations"][tr.UID_ANNOTATION] == now["metadata"]["uid"]
    # No churn: what was in sync is neither rewritten nor recreated, on either side.
    env.server.call(syncer.idle(20))
    after = v.json("get", "service", "stable")
    assert (after["metadata"]["uid"], after["metadata"]["resourceVersion"]) == (
        stable["metadata"]["uid"], stable["metadata"]["resourceVersion"])
    hafter = v.host_get("service", "stable")
    assert (hafter["metadata"]["uid"], hafter["metadata"]["resourceVersion"], hafter["spec"]["clusterIP"]) == (
        hstable["metadata"]["uid"], hstable["metadata"]["resourceVersion"], stable["spec"]["clusterIP"])
    # A host Service deleted by someone else comes back with the same address.
    env.host("delete", "service", "-n", v.hns, tr.host_name("stable", "default", v.name))
    back = eventually(lambda: (lambda h: h if h and h["metadata"]["uid"] != hstable["metadata"]["uid"] else None)(
        v.host_get("service", "stable")), what="host service recreated")
    assert back["spec"]["clusterIP"] == stable["spec"]["clusterIP"]


def test_host_namespace_has_quota_limits_and_isolation(env: Env) -> None:
    embedded_only(env)
    v = env.create_vc(vc_name("quota"), {"quota": {"hard": {"pods": "3", "requests.cpu": "2"}},
                                         "limitRange": {"limits": [{"type": "Container",
                                                                    "default": {"cpu": "200m"},
                                                                    "defaultRequest": {"cpu": "100m"}}]}})
    quota = eventually(lambda: env.host_json("get", "resourcequota", "-n", v.hns, "kubenest-quota"), what="quota")
    assert quota["spec"]["hard"] == {"pods": "3", "requests.cpu": "2"}
    limits = env.host_json("get", "limitrange", "-n", v.hns, "kubenest-limits")
    assert limits["spec"]["limits"][0]["default"] == {"cpu": "200m"}
    pol = env.host_json("get", "networkpolicy", "-n", v.hns, "kubenest-isolation")
    assert pol["spec"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    v.apply(pod("limited"))
    hp = eventually(lambda: v.host_get("pod", "limited"), what="host pod")
    assert hp["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m"}  # the host's LimitRange
    env.run(env.root_kubeconfig, "patch", "vc", v.name, "--type=merge", "-p",
            json.dumps({"spec": {"quota": {"hard": {"pods": "5", "requests.cpu": None}}, "limitRange": None}}))
    eventually(lambda: env.host_json("get", "resourcequota", "-n", v.hns, "kubenest-quota")["spec"]["hard"]
               == {"pods": "5"}, what="quota updated")
    eventually(lambda: env.host("get", "limitrange", "-n", v.hns, "kubenest-limits", check=False).returncode != 0,
               what="limit range removed")
    bad = env.run(env.root_kubeconfig, "patch", "vc", v.name, "--type=merge", "-p",
                  json.dumps({"spec": {"quota": {"hard": {"pods": "lots"}}}}), check=False)
    assert bad.returncode != 0 and "spec.quota.hard[pods]" in bad.stderr
    explain = env.run(env.root_kubeconfig, "explain", "vc.spec.quota").stdout
    assert "hard" in explain


def test_a_new_host_namespace_is_set_up_without_reading_first(env: Env) -> None:
    """A host namespace the syncer has just created holds nothing: its isolation policy and quota are created
    without a GET each, no leftover quota or limits are deleted, and the stamp needs no fresh read."""
    host = env.server.server.syncer.host
    assert host is not None
    calls: list[tuple[str, str]] = []
    original = host.request

    async def counting(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((method, path))
        return await original(method, path, *args, **kwargs)

    host.request = counting  # type: ignore[method-assign]
    try:
        v = env.create_vc(vc_name("lean"), {"quota": {"hard": {"pods": "3"}}})
        eventually(lambda: tr.HASH_ANNOTATION in (env.host_json("get", "namespace", v.hns)["metadata"]
                                                  .get("annotations") or {}), what="stamped host namespace")
    finally:
        del host.request  # the class's method again
    setup = [m for m, p in calls
             if p.endswith((f"/namespaces/{v.hns}", f"/namespaces/{v.hns}/networkpolicies",
                            f"/namespaces/{v.hns}/resourcequotas"))
             or f"/namespaces/{v.hns}/networkpolicies/" in p or f"/namespaces/{v.hns}/resourcequotas/" in p
             or f"/namespaces/{v.hns}/limitranges" in p or (m == "POST" and p.endswith("/namespaces"))]
    # Is it there (404), create it, its policy and quota, stamp it: nine requests before.
    assert sorted(setup) == ["GET", "POST", "POST", "POST", "PUT"], calls
    assert env.host_json("get", "networkpolicy", "-n", v.hns, "kubenest-isolation")["spec"]["policyTypes"] == ["Ingress"]


def test_a_pod_the_host_refuses_gets_a_sync_error_event(env: Env) -> None:
    embedded_only(env)
    v = env.create_vc(vc_name("full"), {"quota": {"hard": {"pods": "1"}}})
    eventually(lambda: env.host_json("get", "resourcequota", "-n", v.hns, "kubenest-quota"), what="quota")
    v.apply(pod("first"))
    eventually(lambda: v.host_get("pod", "first"), what="host pod")
    v.apply(pod("second"))
    event = eventually(lambda: next((e for e in v.json("get", "events")["items"]
                                     if e["reason"] == "SyncError" and e["involvedObject"]["name"] == "second"),
                                    None), what="SyncError event")
    assert event["type"] == "Warning"
    assert 'Error syncing to the host: pods "second" is forbidden: exceeded quota: kubenest-quota' in event["message"]
    v.kubectl("delete", "pod", "first", "--wait=false")
    eventually(lambda: v.host_get("pod", "second"), timeout=60, what="second pod synced once room frees")


def test_in_pod_token_reaches_the_virtual_cluster_as_the_pods_service_account(env: Env) -> None:
    embedded_only(env)
    v = env.create_vc(vc_name("tok"))
    v.apply(pod("client"))
    name = tr.token_secret_name("client", "default", v.name)
    sec = eventually(lambda: env.host_json("get", "secret", "-n", v.hns, name), what="token secret")
    token = base64.b64decode(sec["data"]["token"]).decode()
    assert base64.b64decode(sec["data"]["namespace"]) == b"default"
    assert base64.b64decode(sec["data"]["ca.crt"]).decode() == open(env.server.ca_path).read()
    # As an in-pod client does: https://KUBERNETES_SERVICE_HOST:PORT with no /clusters/ prefix.
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "pod",
           "clusters": [{"name": "pod", "cluster": {"server": f"https://127.0.0.1:{env.server.port}",
                                                    "certificate-authority": env.server.ca_path}}],
           "users": [{"name": "pod", "user": {"token": token}}],
           "contexts": [{"name": "pod", "context": {"cluster": "pod", "user": "pod", "namespace": "default"}}]}
    path = os.path.join(env.tmp, f"{v.name}-pod.kubeconfig")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    who = json.loads(env.run(path, "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:default"
    # It is the virtual cluster's API: the pod itself is there.
    can = env.run(path, "auth", "can-i", "get", "pods", check=False).stdout.strip()
    assert can in ("yes", "no")
    env.run(env.server.write_kubeconfig(v.name), "create", "rolebinding", "view", "--clusterrole=view",
            "--serviceaccount=default:default")
    assert "client" in env.run(path, "get", "pods", "-o", "name").stdout


def test_pod_create_to_host_pod_is_fast(env: Env) -> None:
    """Virtual pod create -> host pod created, measured in the server's store (embedded host)."""
    embedded_only(env)
    v = env.create_vc(vc_name("fast"))
    srv = env.server.server
    hns = v.hns

    async def measure(n: int) -> list[float]:
        from kubenest.controllers.client import Client

        c = Client(srv.store, srv.clusters, srv.registry)
        w = srv.store.watch("host", "pods", hns, None)
        lat = []
        try:
            for i in range(n):
                name = f"p{i}"
                body = pod(name)
                body["metadata"]["namespace"] = "default"
                t0 = time.perf_counter()
                await c.create(v.name, body)
                want = tr.host_name(name, "default", v.name)
                while True:
                    ev: Event | None = await asyncio.wait_for(w.queue.get(), 10)
                    assert ev is not None
                    if ev.type == "ADDED" and ev.name == want:
                        break
                lat.append(time.perf_counter() - t0)
        finally:
            srv.store.unwatch("host", "pods", w)
        return lat

    lat = env.server.call(measure(30))
    p50 = statistics.median(lat)
    print(f"pod create -> host pod: p50 {p50 * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms")
    assert p50 < 0.05  # the target is 10 ms; loose here for a shared 2-core test machine


# -- `kubenest up --host-kubeconfig` --------------------------------------------------------------------------


def test_kubenest_up_with_host_kubeconfig_and_context(bins_kubectl: str, tmp_path: Any) -> None:
    host_dir, server_dir = str(tmp_path / "host"), str(tmp_path / "server")
    os.makedirs(host_dir)
    os.makedirs(server_dir)
    host = kubenest_up(host_dir, free_port(), "--simulated-nodes", "1")
    try:
        # A kubeconfig whose current context is something else: --host-context picks the host.
        cfg = yaml.safe_load(open(os.path.join(host_dir, "host.kubeconfig")))
        other = yaml.safe_load(open(os.path.join(host_dir, "admin.kubeconfig")))
        cfg["clusters"] += other["clusters"]
        cfg["users"] += other["users"]
        cfg["contexts"] += other["contexts"]
        cfg["current-context"] = other["current-context"]
        merged = str(tmp_path / "merged.kubeconfig")
        with open(merged, "w") as f:
            yaml.safe_dump(cfg, f)
        server = kubenest_up(server_dir, free_port(), "--host-kubeconfig", merged, "--host-context", "kubenest-host")
        try:
            env = Env("up", None, os.path.join(server_dir, "admin.kubeconfig"),  # type: ignore[arg-type]
                      os.path.join(host_dir, "host.kubeconfig"), "kubenest-host", bins_kubectl, str(tmp_path))
            v = env.create_vc("upflags")
            v.apply(pod("web"))
            hp = eventually(lambda: v.host_get("pod", "web"), what="pod on the external host")
            assert hp["metadata"]["labels"][tr.CLUSTER_LABEL] == "upflags"
            eventually(lambda: v.json("get", "pod", "web")["status"].get("phase") == "Running",
                       what="status from the external host")
            env.delete_vc("upflags")
            eventually(lambda: env.host("get", "ns", v.hns, check=False).returncode != 0, what="host namespace gone")
        finally:
            stop(server)
    finally:
        stop(host)


def test_kubenest_up_refuses_a_host_kubeconfig_it_cannot_use(tmp_path: Any) -> None:
    broken = tmp_path / "broken.kubeconfig"
    broken.write_text("clusters: [\n")
    empty = tmp_path / "empty.kubeconfig"
    empty.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [],
                                     "contexts": []}))
    for path, extra, why in ((tmp_path / "missing.kubeconfig", [], "No such file"),
                             (broken, [], "is not a kubeconfig (invalid YAML at line 2)"),
                             (empty, ["--host-context", "nope"], "no context named 'nope'")):
        proc = subprocess.run([sys.executable, "-m", "kubenest", "up", "--data-dir", str(tmp_path / "data"),
                               "--port", str(free_port()), "--host-kubeconfig", str(path), *extra],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"kubenest: cannot use --host-kubeconfig {path}: ") and why in proc.stderr
        assert "Traceback" not in proc.stderr


def test_endpoints_ingress_network_policy_claims_and_storage_classes(env: Env) -> None:
    embedded_only(env)
    env.run(env.host_kubeconfig, "apply", "-f", "-", context=env.host_context, input=json.dumps(
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast-ssd"},
         "provisioner": "example.com/ssd", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}))
    v = env.create_vc(vc_name("kinds"))
    eventually(lambda: v.kubectl("get", "storageclass", "fast-ssd", check=False).returncode == 0,
               what="host storage class in the virtual cluster")
    v.apply(service("external", None, 5432),
            {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "external"},
             "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 5432}]}]},
            service("web", {"app": "web"}),
            {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
             "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "db"},
             "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                      "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}},
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd",
                      "resources": {"requests": {"storage": "1Gi"}}}})
    ep = eventually(lambda: v.host_get("endpoints", "external"), what="selector-less endpoints on host")
    assert ep["subsets"][0]["addresses"] == [{"ip": "192.0.2.10"}]
    assert env.host("get", "endpoints", "-n", v.hns, tr.host_name("web", "default", v.name), "-o", "json",
                    check=False).stdout.count(tr.HASH_ANNOTATION) == 0  # the host makes those of selector services
    ing = eventually(lambda: v.host_get("ingress", "web"), what="ingress on host")
    assert ing["spec"]["defaultBackend"]["service"]["name"] == tr.host_name("web", "default", v.name)
    pol = eventually(lambda: v.host_get("networkpolicy", "db"), what="network policy on host")
    assert pol["spec"]["podSelector"]["matchLabels"] == {"app": "db", tr.NAMESPACE_LABEL: "default"}
    hpvc = eventually(lambda: v.host_get("pvc", "data"), what="claim on host")
    # The host has no provisioner for this class: bind the claim there as one would.
    pv_name = "pvc-" + hpvc["metadata"]["uid"]
    env.run(env.host_kubeconfig, "apply", "-f", "-", context=env.host_context, input=json.dumps(
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv_name},
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd",
                  "hostPath": {"path": "/tmp/" + pv_name},
                  "claimRef": {"namespace": v.hns, "name": hpvc["metadata"]["name"], "uid": hpvc["metadata"]["uid"]}}}))
    env.host("patch", "pvc", "-n", v.hns, hpvc["metadata"]["name"], "--type=merge", "-p",
             json.dumps({"spec": {"volumeName": pv_name}}))
    env.host("patch", "pvc", "-n", v.hns, hpvc["metadata"]["name"], "--subresource=status", "--type=merge", "-p",
             json.dumps({"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                    "capacity": {"storage": "1Gi"}}}))
    vpvc = eventually(lambda: (lambda c: c if c.get("status", {}).get("phase") == "Bound" else None)(
        v.json("get", "pvc", "data")), what="virtual claim Bound")
    assert vpvc["spec"]["volumeName"] == pv_name
    vpv = v.json("get", "pv", pv_name)
    assert vpv["spec"]["claimRef"]["name"] == "data" and vpv["status"]["phase"] == "Bound"


def test_syncer_state_per_pod_is_small(env: Env) -> None:
    """What the syncer keeps per synced pod (host cache entries, references, node tracking) stays < 10 KB."""
    embedded_only(env)
    import gc

    v = env.create_vc(vc_name("mem"))
    syncer = env.server.server.syncer

    def state_size() -> int:
        return syncer.state_bytes()

    gc.collect()
    before = env.server.call(_async(state_size))
    n = 100
    v.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(dict(pod(f"m{i}"), metadata={
        "name": f"m{i}", "labels": {"app": "m", "i": str(i)}})) for i in range(n)))
    eventually(lambda: len(env.host_names("pods", v.hns)) == n, timeout=60, what="host pods")
    env.server.call(syncer.idle(30))
    per_pod = (env.server.call(_async(state_size)) - before) / n
    print(f"syncer state per synced pod: {per_pod:.0f} bytes")
    assert per_pod < 10_000


async def _async(fn: Callable[[], T]) -> T:
    return fn()
