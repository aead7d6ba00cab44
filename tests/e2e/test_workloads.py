"""Workloads run: real kubectl and helm in a virtual cluster whose pods run as processes on the embedded host.

A VirtualCluster is made through the root cluster of the session `server` (which has the process node); its
pods are synced to the `host` cluster and run there under bubblewrap, each in its own network namespace
(docs/hosts.md). Images are not pulled: containers run their `command` on this machine.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
import yaml

from kubenest.controllers import job as job_module
from kubenest.syncer import translate as tr
from kubenest.testing import ServerThread
from tests.conftest import Cluster
from tests.waiting import eventually

T = TypeVar("T")
SA = tr.TOKEN_PATH
pytestmark = pytest.mark.timeout(240)

_n = iter(range(10_000))




# -- virtual clusters, namespaces and the host ------------------------------------------------------------------


def root(server: ServerThread, bins: tuple[str, str]) -> Cluster:
    return Cluster(server, "root", os.path.join(server.data_dir, "admin.kubeconfig"), bins[0], bins[1])


def host(server: ServerThread, bins: tuple[str, str]) -> Cluster:
    """The `host` cluster with the admin token (/clusters/host)."""
    return Cluster(server, "host", server.write_kubeconfig("host"), bins[0], bins[1])


def create_vc(server: ServerThread, bins: tuple[str, str], hint: str) -> Cluster:
    """A VirtualCluster made through the root API, Ready, with kubectl/helm on its own kubeconfig."""
    name = f"{hint}-{next(_n)}"
    r = root(server, bins)
    r.apply(json.dumps({"apiVersion": "kubenest.io/v1alpha1", "kind": "VirtualCluster", "metadata": {"name": name}}))
    r.kubectl("wait", f"vc/{name}", "--for=condition=Ready", "--timeout=30s")
    secret = r.json("get", "secret", "-n", "kubenest-system", f"vc-{name}")
    path = os.path.join(server.data_dir, f"vc-{name}.kubeconfig")
    with open(path, "wb") as f:
        f.write(base64.b64decode(secret["data"]["config"]))
    return Cluster(server, name, path, bins[0], bins[1])


def delete_vc(server: ServerThread, bins: tuple[str, str], name: str) -> None:
    root(server, bins).kubectl("delete", "vc", name, "--wait=true", "--timeout=60s", "--ignore-not-found")


def namespace(vc: Cluster, name: str) -> Cluster:
    """`vc` through a kubeconfig whose context namespace is `name`, made here with its default service account."""
    config = yaml.safe_load(open(vc.kubeconfig))
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    current["context"]["namespace"] = name
    path = f"{vc.kubeconfig[: -len('.kubeconfig')]}-{name}.kubeconfig"
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    c = Cluster(vc.server, vc.name, path, vc.kubectl_bin, vc.helm_bin)
    c.kubectl("create", "namespace", name)
    eventually(lambda: c.kubectl("get", "sa", "default", check=False).returncode == 0, what="default service account")
    return c


def create(c: Cluster, *objs: dict[str, Any]) -> None:
    c.kubectl("create", "-f", "-", input="\n---\n".join(json.dumps(o) for o in objs))


def current_ns(c: Cluster) -> str:
    config = yaml.safe_load(open(c.kubeconfig))
    current = next(x for x in config["contexts"] if x["name"] == config["current-context"])
    return str(current["context"]["namespace"])


def host_pods(h: Cluster, vc: str, namespace: str | None = None) -> list[dict[str, Any]]:
    selector = f"{tr.CLUSTER_LABEL}={vc}" + (f",{tr.NAMESPACE_LABEL}={namespace}" if namespace else "")
    return list(h.json("get", "pods", "-A", "-l", selector)["items"])


# -- objects ------------------------------------------------------------------------------------------------------


def container(command: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": "main", "image": "python:3.11", "command": command, **extra}


def pod(name: str, command: list[str], labels: dict[str, str] | None = None, *, c: dict[str, Any] | None = None,
        **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {"containers": [container(command, **(c or {}))], **spec}}


def job(name: str, code: str, backoff_limit: int) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": backoff_limit,
                     "template": {"spec": {"restartPolicy": "Never",
                                           "containers": [container(["python3", "-c", code])]}}}}


def web_server(name: str, replicas: int, *, port: int = 8080, **c: Any) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/", "port": port}, "periodSeconds": 1}
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": 2, "containers": [container(
                                      ["python3", "-m", "http.server", str(port)],
                                      ports=[{"containerPort": port}], readinessProbe=probe, **c)]}}}}


def service(name: str, port: int, target: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": target}]}}


def pods(c: Cluster, selector: str) -> list[dict[str, Any]]:
    return list(c.json("get", "pods", "-l", selector)["items"])


def phase(c: Cluster, name: str) -> str:
    return str((c.json("get", "pod", name).get("status") or {}).get("phase", ""))


def port_forward(c: Cluster, target: str, port: int) -> tuple[subprocess.Popen[str], int]:
    """`kubectl port-forward TARGET :PORT` running; returns it and the local port it listens on."""
    env = dict(os.environ, KUBECONFIG=c.kubeconfig, HOME=c.server.data_dir)
    proc = subprocess.Popen([c.kubectl_bin, "port-forward", target, f":{port}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # Forwarding from 127.0.0.1:LOCAL -> PORT
    if "127.0.0.1:" not in line:
        proc.kill()
        raise AssertionError(f"port-forward did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc, int(line.split("127.0.0.1:")[1].split()[0])


def http_get(port: int, path: str = "/") -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return bytes(r.read())


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vc(server: ServerThread, bins: tuple[str, str]) -> Iterator[Cluster]:
    if not any(n["metadata"]["labels"].get("kubenest.io/runtime") == "process"
               for n in host(server, bins).json("get", "nodes")["items"]):
        pytest.skip("the embedded host has no process node on this machine")
    v = create_vc(server, bins, "work")
    yield v
    delete_vc(server, bins, v.name)


@pytest.fixture
def ns(vc: Cluster, request: pytest.FixtureRequest) -> Cluster:
    """The module's virtual cluster in a namespace of this test's own."""
    base = request.node.name.removeprefix("test_").replace("_", "-")[:40].strip("-")
    return namespace(vc, f"{base}-{next(_n)}")


@pytest.fixture(scope="module")
def web(vc: Cluster) -> Cluster:
    """Deployment `web` (2 replicas of `python3 -m http.server 8080`, readiness probe) and Service `web`."""
    c = namespace(vc, "web")
    create(c, web_server("web", 2), service("web", 80, 8080))
    c.kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    return c


# -- tests --------------------------------------------------------------------------------------------------------


def test_job_runs_a_python_script_to_completion_and_logs_show_its_output(ns: Cluster) -> None:
    create(ns, job("hello", "import os, sys; print('sum', sum(range(10))); print('host', os.uname().nodename)", 0))
    ns.kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=60s")
    out = ns.kubectl("logs", "job/hello").stdout.splitlines()
    assert out[0] == "sum 45"
    assert out[1].startswith("host hello-")  # the container's hostname is its pod's name
    j = ns.json("get", "job", "hello")
    assert j["status"]["succeeded"] == 1
    (p,) = pods(ns, "job-name=hello")
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (p["status"]["phase"], term["exitCode"], term["reason"]) == ("Succeeded", 0, "Completed")


def test_failing_job_retries_per_backoff_limit_then_fails(ns: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_module, "DEFAULT_BACKOFF", 0.2)  # kube's 10 s doubling, shortened for the test
    create(ns, job("broken", "import sys; print('trying'); sys.exit(1)", 2))
    ns.kubectl("wait", "--for=condition=failed", "job/broken", "--timeout=60s")
    j = ns.json("get", "job", "broken")
    failed = next(c for c in j["status"]["conditions"] if c["type"] == "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "BackoffLimitExceeded")
    assert j["status"]["failed"] == 3 and not j["status"].get("succeeded")
    attempts = pods(ns, "job-name=broken")
    assert len(attempts) == 3
    for p in attempts:
        term = p["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (p["status"]["phase"], term["exitCode"], term["reason"]) == ("Failed", 1, "Error")
        assert ns.kubectl("logs", p["metadata"]["name"]).stdout == "trying\n"


def test_deployment_becomes_available_and_its_service_lists_both_pods(web: Cluster) -> None:
    web.kubectl("wait", "--for=condition=Available", "deployment/web", "--timeout=30s")
    assert "successfully rolled out" in web.kubectl("rollout", "status", "deployment/web").stdout
    d = web.json("get", "deployment", "web")
    assert (d["status"]["readyReplicas"], d["status"]["availableReplicas"]) == (2, 2)
    running = pods(web, "app=web")
    ips = {p["status"]["podIP"] for p in running}
    assert len(ips) == 2 and all(p["status"]["phase"] == "Running" for p in running)

    def endpoint_ips() -> set[str] | None:
        ep = web.json("get", "endpoints", "web")
        found = {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}
        return found if found == ips else None

    eventually(endpoint_ips, what="both pod IPs in the Endpoints of Service web")
    ep = web.json("get", "endpoints", "web")
    assert [p["port"] for p in ep["subsets"][0]["ports"]] == [8080]


def test_exec_port_forward_and_logs_follow(web: Cluster, ns: Cluster) -> None:
    name = pods(web, "app=web")[0]["metadata"]["name"]
    r = web.kubectl("exec", name, "--", "sh", "-c", "echo inside $(hostname); exit 3", check=False)
    assert (r.returncode, r.stdout) == (3, f"inside {name}\n")
    upper = web.kubectl("exec", "-i", name, "--", "python3", "-c", "import sys; print(sys.stdin.read().upper())",
                        input="hello from stdin")
    assert upper.stdout == "HELLO FROM STDIN\n"

    proc, local = port_forward(web, f"pod/{name}", 8080)
    try:
        assert b"Directory listing" in http_get(local)
    finally:
        stop(proc)

    create(ns, pod("ticker", ["python3", "-u", "-c",
                              "import itertools, time\nfor i in itertools.count():\n print('tick', i); time.sleep(0.2)"]))
    eventually(lambda: phase(ns, "ticker") == "Running", what="ticker Running")
    env = dict(os.environ, KUBECONFIG=ns.kubeconfig, HOME=ns.server.data_dir)
    eventually(lambda: "tick 1" in ns.kubectl("logs", "ticker").stdout, what="ticker printing")
    # --tail=1: the newest line at once, then only lines printed while kubectl follows.
    follow = subprocess.Popen([ns.kubectl_bin, "logs", "-f", "--tail=1", "ticker"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert follow.stdout is not None
        first = follow.stdout.readline()
        t0 = time.monotonic()
        lines = [first] + [follow.stdout.readline() for _ in range(5)]
        elapsed = time.monotonic() - t0
    finally:
        stop(follow)
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers[0] >= 1 and numbers == list(range(numbers[0], numbers[0] + 6))
    assert elapsed > 0.6  # five more lines, printed 0.2 s apart while following: streamed, not read at once


def test_pod_reads_configmap_secret_and_service_account(ns: Cluster, server: ServerThread) -> None:
    create(ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                "data": {"greeting": "hello", "color": "blue"}},
           {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}})
    code = ("import json, os\n"
            "read = lambda p: open(p).read()\n"
            f"sa = {SA!r}\n"
            "print(json.dumps({'volume': [read('/etc/cfg/greeting'), read('/etc/creds/password')],\n"
            "  'env': {k: v for k, v in os.environ.items() if k in ('GREETING', 'PASSWORD') or k.startswith('CFG_')},\n"
            "  'token': read(sa + '/token'), 'ca': read(sa + '/ca.crt'), 'namespace': read(sa + '/namespace')}))\n")
    create(ns, pod("reader", ["python3", "-c", code], restartPolicy="Never", c={
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}],
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
        "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"},
                         {"name": "creds", "mountPath": "/etc/creds", "readOnly": True}]},
        volumes=[{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "creds", "secret": {"secretName": "creds"}}]))
    eventually(lambda: phase(ns, "reader") == "Succeeded", what="reader Succeeded")
    out = json.loads(ns.kubectl("logs", "reader").stdout)
    assert out["volume"] == ["hello", "s3cret"]
    assert out["env"] == {"GREETING": "hello", "PASSWORD": "s3cret", "CFG_greeting": "hello", "CFG_color": "blue"}
    assert out["namespace"] == current_ns(ns)  # the virtual namespace, not the host's
    assert out["ca"] == open(server.ca_path).read()
    payload = out["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == f"system:serviceaccount:{current_ns(ns)}:default"


def _python_with_kubernetes() -> tuple[str, list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """This process's Python for a container: hostPath mounts for what lives under /tmp (private in pods)."""
    import kubernetes

    site = os.path.dirname(os.path.dirname(os.path.abspath(kubernetes.__file__)))
    tops: list[str] = []
    for path in (sys.prefix, site):
        if path.startswith("/tmp/") and not any(path.startswith(t + "/") or path == t for t in tops):
            tops.append(path)
    volumes = [{"name": f"py{i}", "hostPath": {"path": p, "type": "Directory"}} for i, p in enumerate(tops)]
    mounts = [{"name": f"py{i}", "mountPath": p, "readOnly": True} for i, p in enumerate(tops)]
    return sys.executable, volumes, mounts, {"PYTHONPATH": site}


def test_in_cluster_client_lists_pods_once_granted_and_reaches_service_by_env(web: Cluster) -> None:
    python, volumes, mounts, env = _python_with_kubernetes()
    code = ("import os, time, urllib.request\n"
            "from kubernetes import client, config\n"
            "config.load_incluster_config()\n"
            "api = client.CoreV1Api()\n"
            f"ns = open({SA!r} + '/namespace').read()\n"
            "while True:\n"
            "    try:\n"
            "        names = sorted(p.metadata.name for p in api.list_namespaced_pod(ns).items)\n"
            "        break\n"
            "    except client.ApiException as e:\n"
            "        print('denied', e.status, flush=True)\n"
            "        time.sleep(0.2)\n"
            "print('pods', ' '.join(names), flush=True)\n"
            "url = 'http://%s:%s/' % (os.environ['WEB_SERVICE_HOST'], os.environ['WEB_SERVICE_PORT'])\n"
            "print('web', b'Directory listing' in urllib.request.urlopen(url, timeout=10).read(), flush=True)\n")
    create(web, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "lister"}})
    create(web, pod("lister", [python, "-c", code], restartPolicy="Never", serviceAccountName="lister",
                    volumes=volumes, c={"volumeMounts": mounts, "env": [{"name": k, "value": v}
                                                                        for k, v in env.items()]}))
    eventually(lambda: "denied 403" in web.kubectl("logs", "lister").stdout, what="403 before the RoleBinding")
    assert phase(web, "lister") == "Running"
    web.kubectl("create", "rolebinding", "lister-view", "--clusterrole=view", "--serviceaccount=web:lister")
    eventually(lambda: phase(web, "lister") in ("Succeeded", "Failed"), what="lister finished")
    out = web.kubectl("logs", "lister").stdout.splitlines()
    assert phase(web, "lister") == "Succeeded", out
    listed = next(line for line in out if line.startswith("pods ")).split()[1:]
    assert "lister" in listed
    assert {p["metadata"]["name"] for p in pods(web, "app=web")} <= set(listed)
    assert out[-1] == "web True"


def test_pod_reaches_a_service_by_the_cluster_ip_kubectl_shows(web: Cluster, server: ServerThread,
                                                                 bins: tuple[str, str]) -> None:
    ip = web.kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    hs = host(server, bins).json("get", "service", "-n", tr.host_namespace(web.name),
                                 tr.host_name("web", current_ns(web), web.name))
    assert ip and hs["spec"]["clusterIP"] == ip  # the address the virtual cluster shows is the host Service's
    code = ("import sys, urllib.request\n"
            "body = urllib.request.urlopen('http://%s:80/' % sys.argv[1], timeout=10).read()\n"
            "print('listing', b'Directory listing' in body, flush=True)\n")
    name = f"by-ip-{next(_n)}"
    create(web, pod(name, ["python3", "-c", code, ip], restartPolicy="Never"))
    eventually(lambda: phase(web, name) in ("Succeeded", "Failed"), what="client pod finished")
    out = web.kubectl("logs", name).stdout
    assert phase(web, name) == "Succeeded" and out == "listing True\n", out


def test_identical_pods_of_two_virtual_clusters_run_side_by_side(vc: Cluster, server: ServerThread,
                                                                 bins: tuple[str, str]) -> None:
    other = create_vc(server, bins, "twin")
    try:
        twins = [namespace(vc, "twin"), namespace(other, "twin")]
        for c in twins:
            create(c, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "site"},
                       "data": {"index.html": f"served by {c.name}\n"}},
                   pod("web", ["python3", "-m", "http.server", "8080", "--directory", "/site"],
                       c={"volumeMounts": [{"name": "site", "mountPath": "/site"}],
                          "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}},
                       volumes=[{"name": "site", "configMap": {"name": "site"}}]))
        for c in twins:
            c.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
        a, b = (c.json("get", "pod", "web")["status"] for c in twins)
        assert a["phase"] == b["phase"] == "Running" and a["podIP"] != b["podIP"]
        h = host(server, bins)
        for c in twins:
            (hp,) = host_pods(h, c.name, "twin")
            assert (hp["metadata"]["namespace"], hp["metadata"]["name"]) == (
                tr.host_namespace(c.name), tr.host_name("web", "twin", c.name))
        for c in twins:
            proc, local = port_forward(c, "pod/web", 8080)
            try:
                assert http_get(local, "/index.html") == f"served by {c.name}\n".encode()
            finally:
                stop(proc)
    finally:
        delete_vc(server, bins, other.name)


def test_helm_chart_installs_waits_and_uninstalls(ns: Cluster, server: ServerThread, bins: tuple[str, str],
                                                  tmp_path: Any) -> None:
    chart = os.path.join(str(tmp_path), "demo")
    ns.helm("create", chart)
    template = os.path.join(chart, "templates", "deployment.yaml")
    text = open(template).read()
    image_line = next(line for line in text.splitlines() if line.strip().startswith("image:"))
    indent = image_line[: len(image_line) - len(image_line.lstrip())]
    text = text.replace(image_line, f'{image_line}\n{indent}command: ["python3", "-m", "http.server", "80"]')
    with open(template, "w") as f:
        f.write(text)
    # The chart's probes (GET / on port `http`, 80); probing every second rather than 10 keeps the wait short.
    ns.helm("install", "demo", chart, "--wait", "--timeout", "60s", "--set", "readinessProbe.periodSeconds=1",
            timeout=90)
    (p,) = pods(ns, "app.kubernetes.io/instance=demo")
    assert p["spec"]["containers"][0]["command"] == ["python3", "-m", "http.server", "80"]
    assert p["status"]["phase"] == "Running" and p["status"]["containerStatuses"][0]["ready"] is True
    assert ns.json("get", "deployment", "demo")["status"]["availableReplicas"] == 1
    assert "deployed" in ns.helm("status", "demo").stdout
    h = host(server, bins)
    (hp,) = host_pods(h, ns.name, current_ns(ns))
    assert hp["metadata"]["annotations"][tr.UID_ANNOTATION] == p["metadata"]["uid"]

    ns.helm("uninstall", "demo", "--wait", "--timeout", "60s", timeout=90)
    assert not pods(ns, "app.kubernetes.io/instance=demo")
    assert ns.kubectl("get", "deployment,service,serviceaccount", "demo", "--ignore-not-found", "-o", "name").stdout == ""
    eventually(lambda: not host_pods(h, ns.name, current_ns(ns)), what="host pods of the release gone")


def _processes_mentioning(needle: str) -> list[int]:
    """Processes of this machine whose command line or environment contains `needle`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{part}", "rb") as f:
                    if needle.encode() in f.read():
                        found.append(int(entry))
                        break
            except OSError:
                pass
    return found


def _traces(uid: str, state: str) -> dict[str, Any]:
    """What a host pod leaves on this machine: processes, its runtime state directory, its network namespace."""
    netns = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    traces = {"processes": _processes_mentioning(uid), "state": os.path.exists(os.path.join(state, uid)),
              "netns": [n for n in netns if uid in n]}
    return {k: v for k, v in traces.items() if v}


def test_deleting_the_virtual_cluster_stops_its_processes_and_leaves_nothing_on_the_host(
        server: ServerThread, bins: tuple[str, str]) -> None:
    v = create_vc(server, bins, "doomed")
    c = namespace(v, "apps")
    create(c, pod("sleeper", ["python3", "-c", "import time; print('up', flush=True); time.sleep(3600)"]),
           service("sleeper", 80, 8080),
           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}},
           pod("user", ["sleep", "3600"], c={"envFrom": [{"configMapRef": {"name": "cfg"}}]}))
    for name in ("sleeper", "user"):
        c.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    h = host(server, bins)
    uids = [p["metadata"]["uid"] for p in host_pods(h, v.name)]
    assert len(uids) == 2
    state = os.path.join(server.data_dir, "host", "process", "pods")
    # While they run, their processes, state and network are there: what the checks below look for.
    for uid in uids:
        assert set(_traces(uid, state)) == {"processes", "state", "netns"}, _traces(uid, state)

    delete_vc(server, bins, v.name)
    hns = tr.host_namespace(v.name)
    eventually(lambda: h.kubectl("get", "namespace", hns, check=False).returncode != 0, what="host namespace gone")
    left = h.kubectl("get", "namespaces,pods,services,endpoints,configmaps,secrets,networkpolicies", "-A",
                     "-l", f"{tr.CLUSTER_LABEL}={v.name}", "-o", "name").stdout.split()
    assert left == []

    def nothing_left() -> bool:
        remains = {uid: t for uid in uids if (t := _traces(uid, state))}
        assert not remains, remains
        return True

    eventually(nothing_left, what="processes, state and network namespaces of the pods gone")
    assert root(server, bins).kubectl("get", "vc", v.name, check=False).returncode != 0
