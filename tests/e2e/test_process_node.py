"""The embedded host's process node through kubectl: pods run as real processes on this machine."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kubenest.testing import ServerThread
from tests.conftest import Cluster, host_cluster
from tests.waiting import eventually

PY = os.path.realpath(sys.executable)
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def process_server() -> Iterator[ServerThread]:
    st = ServerThread(durable=False, simulated_nodes=0)
    yield st
    st.stop()


@pytest.fixture
def ph(process_server: ServerThread, bins: tuple[str, str], request: pytest.FixtureRequest) -> Cluster:
    return host_cluster(process_server, bins, request.node.name)


# polling kubectl less often than the default
wait_for = functools.partial(eventually, timeout=60, interval=0.2)


def apply(c: Cluster, *objs: dict[str, Any]) -> None:
    for obj in objs:
        c.kubectl("create", "-f", "-", input=json.dumps(obj))


def pod(name: str, command: list[str], **spec: Any) -> dict[str, Any]:
    container = {"name": "app", "image": "python", "command": command, **spec.pop("container", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container], **spec}}


def phase(c: Cluster, name: str) -> str:
    return str(c.json("get", "pod", name).get("status", {}).get("phase", ""))


def test_process_node_runs_a_pod_with_its_config_and_service_account_token(ph: Cluster) -> None:
    node = ph.json("get", "nodes", "-l", "kubenest.io/runtime=process")["items"][0]
    assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "kubenest-process"
    code = ("import os\n"
            "print('config', open('/config/greeting').read(), os.environ['GREETING'])\n"
            "sa = '/var/run/secrets/kubernetes.io/serviceaccount'\n"
            "print('token', len(open(sa + '/token').read()) > 20, open(sa + '/namespace').read())\n")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"greeting": "hi"}}
    p = pod("reader", [PY, "-c", code], restartPolicy="Never", volumes=[{"name": "c", "configMap": {"name": "cfg"}}],
            container={"env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}}],
                       "volumeMounts": [{"name": "c", "mountPath": "/config"}]})
    apply(ph, cm, p)
    wait_for(lambda: phase(ph, "reader") == "Succeeded")
    ns = ph.json("get", "pod", "reader")["metadata"]["namespace"]
    out = ph.kubectl("logs", "reader").stdout
    assert "config hi hi" in out
    assert f"token True {ns}" in out
    status = ph.json("get", "pod", "reader")["status"]
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert status["podIP"] and status["hostIP"]


def test_exec_logs_and_graceful_delete_through_kubectl(ph: Cluster) -> None:
    p = pod("sleeper", [PY, "-c", "import time; print('started', flush=True); time.sleep(600)"],
            terminationGracePeriodSeconds=5)
    apply(ph, p)
    wait_for(lambda: phase(ph, "sleeper") == "Running")
    wait_for(lambda: "started" in ph.kubectl("logs", "sleeper").stdout)
    r = ph.kubectl("exec", "sleeper", "--", "sh", "-c", "echo inside $(hostname); exit 3", check=False)
    assert r.returncode == 3
    assert r.stdout == "inside sleeper\n"
    t0 = time.monotonic()
    ph.kubectl("delete", "pod", "sleeper", "--wait=true", "--timeout=60s")
    assert time.monotonic() - t0 < 5  # the init forwards SIGTERM: no wait for the grace period


def test_container_without_command_says_images_are_not_pulled(ph: Cluster) -> None:
    apply(ph, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx"},
               "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}})

    def waiting() -> dict[str, Any]:
        st = ph.json("get", "pod", "nginx").get("status", {}).get("containerStatuses") or [{}]
        return dict(st[0].get("state", {}).get("waiting") or {})

    w = wait_for(lambda: waiting().get("reason") == "CreateContainerError" and waiting())
    assert "does not pull images" in w["message"]
    events = ph.kubectl("get", "events", "--field-selector", "involvedObject.name=nginx").stdout
    assert "does not pull images" in events
    assert "CreateContainerError" in ph.kubectl("get", "pod", "nginx").stdout


def test_crash_loop_shows_in_kubectl_and_previous_logs(ph: Cluster) -> None:
    apply(ph, pod("crash", [PY, "-c", "import sys; print('boom'); sys.exit(2)"]))
    wait_for(lambda: "CrashLoopBackOff" in ph.kubectl("get", "pod", "crash").stdout)
    cs = ph.json("get", "pod", "crash")["status"]["containerStatuses"][0]
    assert cs["restartCount"] >= 1 and cs["lastState"]["terminated"]["exitCode"] == 2
    assert ph.kubectl("logs", "crash", "--previous").stdout == "boom\n"


def test_port_forward_reaches_the_pod(ph: Cluster) -> None:
    apply(ph, pod("web", [PY, "-m", "http.server", "8080"],
                  container={"readinessProbe": {"httpGet": {"port": 8080}, "periodSeconds": 1}}))
    ph.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
    env = dict(os.environ, KUBECONFIG=ph.kubeconfig)
    proc = subprocess.Popen([ph.kubectl_bin, "port-forward", "pod/web", ":8080"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # Forwarding from 127.0.0.1:PORT -> 8080
        local = int(line.split("127.0.0.1:")[1].split()[0])
        import urllib.request

        body = urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10).read()
        assert b"Directory listing" in body
    finally:
        proc.terminate()
        proc.wait()
