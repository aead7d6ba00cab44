"""pods/log, exec, attach and port-forward with the real kubectl 1.37 and the official Python client.

The pods' streams come from `tests/streams_backend.LocalStreams` (local files, processes and TCP
servers), installed for the test's cluster only. The proxy tests put the syncer's `HostProxy` in front:
kubectl -> virtual cluster -> HostProxy -> HTTPS/WebSocket -> "host" cluster -> LocalStreams.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from kubernetes import client as kclient
from kubernetes import config as kconfig
from kubernetes.stream import portforward, stream

from kubenest.syncer.hostclient import HostClient
from kubenest.syncer.proxy import HostProxy
from tests.conftest import Cluster, make_cluster
from tests.streams_backend import LocalStreams, install

pytestmark = pytest.mark.timeout(120)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = f"hello from {self.server.server_address[1]} {self.path}".encode()  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_servers() -> Iterator[list[int]]:
    """Two real HTTP servers on 127.0.0.1 (what the pod's ports 80 and 8080 reach)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Hello) for _ in range(2)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield [s.server_address[1] for s in servers]
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def backend(cluster: Cluster, http_servers: list[int], tmp_path: Any) -> Iterator[LocalStreams]:
    b = LocalStreams(str(tmp_path / "streams"), ports={80: http_servers[0], 8080: http_servers[1]},
                     attach_command=["sh", "-c", 'echo attached-ready; read l; echo "got $l"; exit 0'])
    install(cluster.server, cluster.name, b)
    yield b
    cluster.server.call(b.close())


def _client(cluster: Cluster) -> httpx.Client:
    srv = cluster.server
    return httpx.Client(verify=ssl.create_default_context(cafile=srv.ca_path), timeout=30,
                        headers={"Authorization": f"Bearer {srv.token}"}, base_url=srv.url(cluster.name))


def make_pod(cluster: Cluster, name: str, containers: tuple[str, ...] = ("app",), node: str | None = "node-1",
             phase: str | None = "Running") -> None:
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox"} for c in containers]}
    if node:
        spec["nodeName"] = node
    cluster.apply(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}))
    if phase:
        with _client(cluster) as c:
            r = c.patch(f"/api/v1/namespaces/default/pods/{name}/status", json={"status": {"phase": phase}},
                        headers={"Content-Type": "application/merge-patch+json"})
            r.raise_for_status()


# -- logs ---------------------------------------------------------------------------------------------


def test_kubectl_logs_tail_timestamps_since_and_container(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web", ("app", "side"))
    now = time.time()
    backend.write_log("web", "app", "old line", at=now - 7200)
    backend.write_log("web", "app", "one", "two", "three")
    backend.write_log("web", "side", "from the sidecar")

    out = cluster.kubectl("logs", "web", "-c", "app").stdout
    assert out == "old line\none\ntwo\nthree\n"
    assert cluster.kubectl("logs", "web", "-c", "app", "--tail=2").stdout == "two\nthree\n"
    assert cluster.kubectl("logs", "web", "-c", "app", "--since=1h").stdout == "one\ntwo\nthree\n"
    stamped = cluster.kubectl("logs", "web", "-c", "app", "--timestamps", "--tail=1").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z three\n", stamped), stamped
    assert cluster.kubectl("logs", "web", "-c", "side").stdout == "from the sidecar\n"
    assert cluster.kubectl("logs", "web", "-c", "app", "--limit-bytes=6").stdout == "old li"
    assert backend.log_requests[-1].limit_bytes == 6


def test_kubectl_logs_follow_streams_new_lines(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    backend.write_log("web", "app", "first")
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig, HOME=cluster.server.data_dir)
    proc = subprocess.Popen([cluster.kubectl_bin, "logs", "-f", "web"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "first\n"
        backend.write_log("web", "app", "second")
        assert proc.stdout.readline() == "second\n"
        assert proc.poll() is None  # still following
    finally:
        proc.kill()
        proc.wait()
    assert backend.log_requests[-1].follow


def test_log_errors_are_kubes(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "two", ("a", "b"))
    make_pod(cluster, "pending", node=None, phase=None)
    make_pod(cluster, "fresh")  # on a node, nothing logged yet
    with _client(cluster) as c:
        r = c.get("/api/v1/namespaces/default/pods/two/log")
        assert r.status_code == 400
        assert r.json()["message"] == "a container name must be specified for pod two, choose one of: [a b]"
        r = c.get("/api/v1/namespaces/default/pods/two/log", params={"container": "c"})
        assert (r.status_code, r.json()["message"]) == (400, "container c is not valid for pod two")
        r = c.get("/api/v1/namespaces/default/pods/nope/log")
        assert (r.status_code, r.json()["message"]) == (404, 'pods "nope" not found')
        r = c.get("/api/v1/namespaces/default/pods/two/log", params={"container": "a", "tailLines": "-1"})
        assert r.status_code == 422
        assert r.json()["message"] == ('PodLogOptions "two" is invalid: '
                                       "tailLines: Invalid value: -1: must be greater than or equal to 0")
        r = c.get("/api/v1/namespaces/default/pods/two/log",
                  params={"container": "a", "sinceSeconds": "5", "sinceTime": "2024-01-01T00:00:00Z"})
        assert r.status_code == 422 and "at most one of `sinceTime` or `sinceSeconds`" in r.json()["message"]
        # No node: no log location, kube answers 204 with nothing.
        assert c.get("/api/v1/namespaces/default/pods/pending/log").status_code == 204
        r = c.get("/api/v1/namespaces/default/pods/fresh/log")
        assert r.status_code == 400
        assert r.json()["message"] == 'container "app" in pod "fresh" is waiting to start: ContainerCreating'
        r = c.post("/api/v1/namespaces/default/pods/fresh/log")
        assert r.status_code == 405
    assert cluster.kubectl("logs", "pending").stdout == ""
    err = cluster.kubectl("logs", "fresh", check=False)
    assert err.returncode == 1
    assert 'container "app" in pod "fresh" is waiting to start: ContainerCreating' in err.stderr


def test_logs_of_a_cluster_without_streams(cluster: Cluster, bins: tuple[str, str]) -> None:
    # A cluster nobody streams for answers as for a container that does not run yet.
    make_pod(cluster, "web")
    err = cluster.kubectl("logs", "web", check=False)
    assert err.returncode == 1 and "is waiting to start: ContainerCreating" in err.stderr
    err = cluster.kubectl("exec", "web", "--", "true", check=False)
    assert err.returncode == 1 and 'container not found ("app")' in err.stderr


# -- exec and attach ----------------------------------------------------------------------------------


def test_kubectl_exec_stdout_stderr_and_exit_code(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    r = cluster.kubectl("exec", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3, r.stderr
    assert r.stdout == "out\n"
    assert "err\n" in r.stderr
    assert "command terminated with exit code 3" in r.stderr
    ok = cluster.kubectl("exec", "web", "-c", "app", "--", "echo", "a b", "c")
    assert ok.stdout == "a b c\n"


def test_kubectl_exec_stdin(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    r = cluster.kubectl("exec", "-i", "web", "--", "sh", "-c", "tr a-z A-Z; echo done", input="hello\nworld\n")
    assert r.stdout == "HELLO\nWORLD\ndone\n"  # stdin's end reached the process (v5 close)


def test_kubectl_exec_tty(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    master, slave = pty.openpty()
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig, HOME=cluster.server.data_dir)
    proc = subprocess.Popen([cluster.kubectl_bin, "exec", "-it", "web", "--", "sh", "-c",
                             "test -t 0 && echo is-a-tty; stty size; exit 4"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.time() + 30
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    rc = proc.wait(10)
    os.close(master)
    text = out.decode(errors="replace")
    assert "is-a-tty" in text, text
    assert re.search(r"\d+ \d+", text), text  # the terminal size kubectl sent on the resize channel
    assert rc == 4
    assert backend.exec_sessions[-1].resizes, "kubectl sent no terminal size"


def test_exec_into_pods_that_cannot_run_it(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "unscheduled", node=None, phase=None)
    make_pod(cluster, "pending", phase="Pending")
    make_pod(cluster, "done", phase="Succeeded")
    r = cluster.kubectl("exec", "unscheduled", "--", "true", check=False)
    assert r.returncode == 1
    assert "pod unscheduled does not have a host assigned" in r.stderr
    r = cluster.kubectl("exec", "pending", "--", "true", check=False)
    assert r.returncode == 1
    assert 'unable to upgrade connection: container not found ("app")' in r.stderr
    r = cluster.kubectl("exec", "done", "--", "true", check=False)
    assert "cannot exec into a container in a completed pod" in r.stderr
    r = cluster.kubectl("exec", "pending", "-c", "other", "--", "true", check=False)
    assert r.returncode == 1 and "container other is not valid for pod pending" in r.stderr


def test_spdy_upgrades_are_refused_as_kubelet_refuses_protocols(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    r = cluster.kubectl("exec", "web", "--", "true", check=False,
                        env={"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"})
    assert r.returncode == 1
    assert "unable to negotiate protocol" in r.stderr
    with _client(cluster) as c:
        plain = c.post("/api/v1/namespaces/default/pods/web/exec", params={"command": "true", "stdout": "true"})
        assert (plain.status_code, plain.json()["message"]) == (400, "Upgrade request required")


def test_kubectl_attach(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    r = cluster.kubectl("attach", "-i", "web", input="hello\n")
    assert "got hello" in r.stdout, r.stdout + r.stderr


def test_exec_needs_create_on_pods_exec(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    cluster.kubectl("create", "serviceaccount", "viewer")
    cluster.kubectl("create", "role", "reader", "--verb=get", "--resource=pods,pods/exec,pods/log")
    cluster.kubectl("create", "rolebinding", "reader", "--role=reader", "--serviceaccount=default:viewer")
    token = cluster.kubectl("create", "token", "viewer").stdout.strip()
    backend.write_log("web", "app", "line")
    assert cluster.kubectl("logs", "web", "--token", token).stdout == "line\n"
    r = cluster.kubectl("exec", "web", "--token", token, "--", "true", check=False)
    assert r.returncode == 1
    assert 'cannot create resource "pods/exec" in API group "" in the namespace "default"' in r.stderr
    cluster.kubectl("create", "role", "execer", "--verb=create", "--resource=pods/exec")
    cluster.kubectl("create", "rolebinding", "execer", "--role=execer", "--serviceaccount=default:viewer")
    deadline = time.time() + 10
    while True:
        r = cluster.kubectl("exec", "web", "--token", token, "--", "echo", "allowed", check=False)
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert r.stdout == "allowed\n", r.stderr


# -- port-forward -------------------------------------------------------------------------------------


def _port_forward(cluster: Cluster, *args: str) -> tuple[subprocess.Popen[str], dict[int, int]]:
    """Start `kubectl port-forward`, return it and {remote port: local port} from its output."""
    env = dict(os.environ, KUBECONFIG=cluster.kubeconfig, HOME=cluster.server.data_dir)
    proc = subprocess.Popen([cluster.kubectl_bin, "port-forward", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    found: dict[int, int] = {}
    wanted = sum(1 for a in args if ":" in a)
    while len(found) < wanted:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"kubectl port-forward ended: {proc.stderr.read() if proc.stderr else ''}")
        m = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
        if m:
            found[int(m.group(2))] = int(m.group(1))
    return proc, found


def _fetch(port: int, path: str = "/") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as resp:
        return str(resp.read().decode())


def test_kubectl_port_forward_one_port(cluster: Cluster, backend: LocalStreams, http_servers: list[int]) -> None:
    make_pod(cluster, "web")
    proc, ports = _port_forward(cluster, "pod/web", ":80")
    try:
        assert _fetch(ports[80], "/a") == f"hello from {http_servers[0]} /a"
        assert _fetch(ports[80], "/b") == f"hello from {http_servers[0]} /b"  # a second connection
    finally:
        proc.kill()
        proc.wait()


def test_kubectl_port_forward_two_ports(cluster: Cluster, backend: LocalStreams, http_servers: list[int]) -> None:
    make_pod(cluster, "web")
    proc, ports = _port_forward(cluster, "web", ":80", ":8080")
    try:
        results: dict[int, str] = {}

        def get(remote: int) -> None:
            results[remote] = _fetch(ports[remote], f"/{remote}")

        threads = [threading.Thread(target=get, args=(p,)) for p in (80, 8080, 80)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == {80: f"hello from {http_servers[0]} /80", 8080: f"hello from {http_servers[1]} /8080"}
    finally:
        proc.kill()
        proc.wait()


def test_kubectl_port_forward_refused_port_reports_kubelets_error(cluster: Cluster,
                                                                   backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    proc, ports = _port_forward(cluster, "web", ":9999")
    try:
        with pytest.raises(OSError):
            _fetch(ports[9999])
        time.sleep(0.5)
    finally:
        proc.kill()
        _, stderr = proc.communicate()
    assert "error forwarding port 9999 to pod web_default" in stderr
    assert "connection refused" in stderr


def test_port_forward_to_a_pod_that_is_not_running(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "pending", node=None, phase="Pending")
    r = cluster.kubectl("port-forward", "pending", ":80", check=False, timeout=30)
    assert r.returncode == 1
    assert "unable to forward port because pod is not running. Current status=Pending" in r.stderr
    with _client(cluster) as c:
        r2 = c.get("/api/v1/namespaces/default/pods/pending/portforward", params={"ports": "80"},
                   headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"})
        assert (r2.status_code, r2.json()["message"]) == (400, "pod pending does not have a host assigned")


# -- the Python client --------------------------------------------------------------------------------


def _core(cluster: Cluster) -> kclient.CoreV1Api:
    return kclient.CoreV1Api(kconfig.new_client_from_config(config_file=cluster.kubeconfig))


def test_python_client_exec(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    api = _core(cluster)
    out = stream(api.connect_get_namespaced_pod_exec, "web", "default", command=["sh", "-c", "echo hi; echo x >&2"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert "hi" in out
    resp = stream(api.connect_get_namespaced_pod_exec, "web", "default", command=["sh", "-c", "cat; exit 7"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("ping\n")
    resp.close_channel(0) if resp.subprotocol == "v5.channel.k8s.io" else None
    got = ""
    deadline = time.time() + 20
    while resp.is_open() and time.time() < deadline:
        resp.update(timeout=1)
        got += resp.read_stdout()
    resp.close()
    assert got == "ping\n"
    assert resp.returncode == 7


def test_python_client_port_forward(cluster: Cluster, backend: LocalStreams, http_servers: list[int]) -> None:
    make_pod(cluster, "web")
    api = _core(cluster)
    pf = portforward(api.connect_get_namespaced_pod_portforward, "web", "default", ports="80,8080")
    for port, server_port in ((80, http_servers[0]), (8080, http_servers[1])):
        sock = pf.socket(port)
        sock.setblocking(True)
        sock.settimeout(20)
        sock.sendall(b"GET /py HTTP/1.0\r\nHost: x\r\n\r\n")
        # kubelet keeps every port's connection until all are done: read the whole body, not up to EOF.
        want = f"hello from {server_port} /py".encode()
        data = b""
        while not data.endswith(want) and (chunk := sock.recv(4096)):
            data += chunk
        assert data.startswith(b"HTTP/1.0 200"), data
        assert data.endswith(want)
        assert pf.error(port) is None


# -- the syncer's proxy -------------------------------------------------------------------------------


@pytest.fixture
def proxied(server: Any, bins: tuple[str, str], http_servers: list[int],
            tmp_path: Any) -> Iterator[tuple[Cluster, Cluster, LocalStreams]]:
    """A virtual cluster whose pod streams go through HostProxy to a host cluster with LocalStreams."""
    host = make_cluster(server, bins, "proxy-host")
    virtual = make_cluster(server, bins, "proxy-virtual")
    b = LocalStreams(str(tmp_path / "host-streams"), ports={80: http_servers[0]})
    install(server, host.name, b)
    kube = server.server.kubeconfig(host.name)

    async def make() -> HostClient:
        import base64
        import tempfile

        ca = base64.b64decode(kube["clusters"][0]["cluster"]["certificate-authority-data"])
        ctx = ssl.create_default_context(cafile=None)
        with tempfile.NamedTemporaryFile(suffix=".crt") as f:
            f.write(ca)
            f.flush()
            ctx.load_verify_locations(f.name)
        return HostClient(kube["clusters"][0]["cluster"]["server"], ctx,
                          {"Authorization": f"Bearer {kube['users'][0]['user']['token']}"})

    hc = server.call(make())

    def locate(pod: dict[str, Any], container: str) -> tuple[str, str, str]:
        return "default", f"{pod['metadata']['name']}-x-default-x-{virtual.name}", container

    install(server, virtual.name, HostProxy(hc, locate))
    yield virtual, host, b
    server.call(hc.close())
    server.call(b.close())


def test_proxy_logs_exec_and_port_forward(proxied: tuple[Cluster, Cluster, LocalStreams],
                                          http_servers: list[int]) -> None:
    virtual, host, b = proxied
    host_name = f"web-x-default-x-{virtual.name}"
    make_pod(virtual, "web")
    make_pod(host, host_name)
    b.write_log(host_name, "app", "from the host pod", "second")

    assert virtual.kubectl("logs", "web").stdout == "from the host pod\nsecond\n"
    assert virtual.kubectl("logs", "web", "--tail=1").stdout == "second\n"
    r = virtual.kubectl("exec", "web", "--", "sh", "-c", "echo via-host; exit 5", check=False)
    assert (r.returncode, r.stdout) == (5, "via-host\n")
    r = virtual.kubectl("exec", "-i", "web", "--", "cat", input="through two hops\n")
    assert r.stdout == "through two hops\n"
    proc, ports = _port_forward(virtual, "web", ":80")
    try:
        assert _fetch(ports[80], "/proxied") == f"hello from {http_servers[0]} /proxied"
    finally:
        proc.kill()
        proc.wait()


def test_proxy_passes_host_errors_with_virtual_names(proxied: tuple[Cluster, Cluster, LocalStreams]) -> None:
    virtual, host, b = proxied
    make_pod(virtual, "web")
    make_pod(host, f"web-x-default-x-{virtual.name}", phase="Pending")
    r = virtual.kubectl("logs", "web", check=False)
    assert r.returncode == 1
    assert 'container "app" in pod "web" is waiting to start: ContainerCreating' in r.stderr
    r = virtual.kubectl("exec", "web", "--", "true", check=False)
    assert r.returncode == 1 and 'container not found ("app")' in r.stderr
    make_pod(virtual, "orphan")  # no host pod
    r = virtual.kubectl("logs", "orphan", check=False)
    assert r.returncode == 1 and 'pods "orphan" not found' in r.stderr


# -- the channel protocols, frame by frame --------------------------------------------------------------


def _ws(cluster: Cluster, path: str, protocols: list[str]) -> Any:
    from websockets.sync.client import connect

    srv = cluster.server
    url = srv.url(cluster.name).replace("https://", "wss://") + path
    return connect(url, ssl=ssl.create_default_context(cafile=srv.ca_path), subprotocols=protocols,  # type: ignore[arg-type]
                   additional_headers={"Authorization": f"Bearer {srv.token}"}, open_timeout=20)


def _frames(ws: Any) -> list[Any]:
    from websockets.exceptions import ConnectionClosedOK

    out = []
    try:
        while True:
            out.append(ws.recv(timeout=20))
    except ConnectionClosedOK:
        return out


def test_exec_frames_of_each_channel_protocol(cluster: Cluster, backend: LocalStreams) -> None:
    make_pod(cluster, "web")
    query = "?command=sh&command=-c&command=printf+out%3B+exit+2&stdout=true&stderr=true"
    path = "/api/v1/namespaces/default/pods/web/exec" + query
    with _ws(cluster, path, ["v4.channel.k8s.io"]) as ws:
        assert ws.subprotocol == "v4.channel.k8s.io"
        frames = _frames(ws)
    assert frames[0] == b"\x01"  # the empty message on stdout that opens the stream
    assert b"\x01out" in frames
    status = json.loads(frames[-1][1:])
    assert frames[-1][0] == 3
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]

    with _ws(cluster, path, ["base64.channel.k8s.io"]) as ws:
        frames = _frames(ws)
    assert frames[0] == "1" and "1b3V0" in frames  # "1" + base64("out")
    assert frames[-1][0] == "3"  # pre-v4: the error's text, no Status

    ok = "/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true"
    with _ws(cluster, ok, ["v5.channel.k8s.io", "v4.channel.k8s.io"]) as ws:
        assert ws.subprotocol == "v5.channel.k8s.io"  # the client's first choice
        frames = _frames(ws)
    assert json.loads(frames[-1][1:]) == {"metadata": {}, "status": "Success"}


def test_refused_upgrades_carry_kubes_status(cluster: Cluster, backend: LocalStreams) -> None:
    from websockets.exceptions import InvalidStatus

    make_pod(cluster, "web", ("a", "b"))
    with pytest.raises(InvalidStatus) as e:
        _ws(cluster, "/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true", ["v5.channel.k8s.io"])
    assert e.value.response.status_code == 400
    assert json.loads(e.value.response.body)["message"] == (
        "a container name must be specified for pod web, choose one of: [a b]")
    with pytest.raises(InvalidStatus) as e:
        _ws(cluster, "/api/v1/namespaces/default/pods/web/exec?container=a&command=true", ["v5.channel.k8s.io"])
    assert (e.value.response.status_code, e.value.response.body) == (
        400, b"you must specify at least 1 of stdin, stdout, stderr")
    with pytest.raises(InvalidStatus) as e:
        _ws(cluster, "/api/v1/namespaces/default/pods/web/portforward?ports=0", ["v4.channel.k8s.io"])
    assert (e.value.response.status_code, e.value.response.body) == (400, b'port "0" must be > 0')
