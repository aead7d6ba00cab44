"""The process runtime on its own: real processes for pod dicts, statuses collected from its reporter."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from kubenest.host.process import NO_COMMAND, ProcessRuntime, sandbox_problem
from kubenest.host.volumes import expand
from kubenest.podstreams import LogOptions

Obj = dict[str, Any]
PY = os.path.realpath(sys.executable)
ISOLATED = sandbox_problem() is None
needs_namespaces = pytest.mark.skipif(not ISOLATED, reason=f"no namespaces here: {sandbox_problem()}")

OBJECTS: dict[tuple[str, str, str], Obj] = {
    ("ConfigMap", "default", "cfg"): {"data": {"greeting": "hello", "mode": "fast"}},
    ("Secret", "default", "creds"): {"data": {"password": base64.b64encode(b"s3cret").decode()}},
}


class Reports:
    """Every status the runtime reported, by pod name."""

    def __init__(self) -> None:
        self.by_pod: dict[str, list[Obj]] = {}
        self.events: list[tuple[str, str, str]] = []

    async def report(self, namespace: str, name: str, uid: str, status: Obj) -> None:
        self.by_pod.setdefault(name, []).append(status)

    def event(self, pod: Obj, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))

    def last(self, name: str) -> Obj:
        return self.by_pod[name][-1]

    async def until(self, name: str, check: Callable[[Obj], bool], timeout: float = 20) -> Obj:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for st in reversed(self.by_pod.get(name, [])):
                if check(st):
                    return st
            await asyncio.sleep(0.05)
        raise AssertionError(f"pod {name}: condition not met; last status {self.by_pod.get(name, [None])[-1]}")


@pytest_asyncio.fixture(loop_scope="function", params=["namespaces", "plain"])
async def env(request: Any, tmp_path: Any) -> AsyncIterator[tuple[ProcessRuntime, Reports]]:
    """A runtime in namespaces (where this machine allows them) and one of plain processes (the fallback)."""
    if request.param == "namespaces" and not ISOLATED:
        pytest.skip(f"no namespaces here: {sandbox_problem()}")
    reports = Reports()
    rt = ProcessRuntime("node-1", str(tmp_path / "state"), None, reader=lambda k, ns, n: OBJECTS.get((k, ns, n)),
                        events=reports.event, gpus=["GPU-aaa", "GPU-bbb", "GPU-ccc"], backoff_base=0.3,
                        retry_interval=0.2, isolate=request.param == "namespaces")
    rt.set_reporter(reports.report)
    yield rt, reports
    await rt.close()


def pod(name: str, containers: list[Obj], **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4()), "labels": {"app": name}},
            "spec": {"nodeName": "node-1", "containers": containers, **spec}}


def script(name: str, code: str, **extra: Any) -> Obj:
    return {"name": name, "image": "python", "command": [PY, "-c", code], **extra}


def serve(name: str, port: int, **extra: Any) -> Obj:
    return {"name": name, "image": "python", "command": [PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            **extra}


def phase(p: str) -> Callable[[Obj], bool]:
    return lambda st: st["phase"] == p


def cstatus(st: Obj, name: str) -> Obj:
    return next(c for c in [*st.get("initContainerStatuses", []), *st["containerStatuses"]] if c["name"] == name)


async def logs(rt: ProcessRuntime, p: Obj, container: str, **opts: Any) -> str:
    out = b""
    async for chunk in rt.streams.logs(p, LogOptions(container=container, **opts)):
        out += chunk
    return out.decode()


async def test_pod_reads_its_configmap_and_secret_volumes_and_env(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    uid = str(uuid.uuid4())
    # Plain processes find their volumes in the runtime's state directory, not at their mountPath.
    vols = f"{rt.state_dir}/pods/{uid}/volumes"
    app, secrets, mode = ("/etc/app", "/secrets", "/etc/mode") if rt.isolated else \
        (f"{vols}/cfg", f"{vols}/creds", f"{vols}/cfg/mode")
    code = ("import os\n"
            f"print('greeting', open('{app}/greeting').read())\n"
            f"print('password', open('{secrets}/password').read())\n"
            f"print('mode-file', open('{mode}').read())\n"
            "print('env', os.environ['GREETING'], os.environ['PASSWORD'], os.environ['POD'], os.environ['NODE'])\n"
            "print('from', os.environ['CFG_mode'], os.environ['COMBINED'])\n"
            f"print('secret-mode', oct(os.stat('{secrets}/password').st_mode & 0o777))\n"
            "print('cwd', os.getcwd())\n")
    p = pod("reader", [script("app", code, args=["$(GREETING)"], workingDir=app, env=[
        {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "COMBINED", "value": "$(GREETING)-$(POD)-$(MISSING)-$$(GREETING)"}],
        envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
        volumeMounts=[{"name": "cfg", "mountPath": "/etc/app"}, {"name": "creds", "mountPath": "/secrets"},
                      {"name": "cfg", "mountPath": "/etc/mode", "subPath": "mode"}])],
        restartPolicy="Never",
        volumes=[{"name": "cfg", "configMap": {"name": "cfg"}},
                 {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}}])
    p["metadata"]["uid"] = uid
    await rt.sync_pod(p)
    st = await reports.until("reader", phase("Succeeded"))
    term = cstatus(st, "app")["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    out = await logs(rt, p, "app")
    assert "greeting hello" in out
    assert "password s3cret" in out
    assert "env hello s3cret reader node-1" in out
    assert "from fast hello-reader-$(MISSING)-$(GREETING)" in out
    assert "mode-file fast" in out
    assert "secret-mode 0o400" in out
    assert f"cwd {app}" in out
    assert st["podIP"] and st["hostIP"] and st["startTime"] and st["qosClass"] == "BestEffort"
    assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "False"


async def test_mount_paths_do_not_litter_the_host_and_other_pods_are_hidden(
        env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    if not rt.isolated:
        pytest.skip("plain processes see this machine's files")
    marker = f"kubenest-test-{uuid.uuid4().hex[:8]}"
    code = (f"import os\nprint(sorted(os.listdir('/etc/{marker}/conf')))\n"
            f"print('state-visible', os.path.exists({rt.state_dir!r} + '/pods'))\n"
            "print('pid', os.getpid(), 'hosts' in open('/etc/hosts').read() or open('/etc/hosts').read())\n"
            "print('passwd', os.path.exists('/etc/passwd'))\n")
    p = pod("quiet", [script("app", code, volumeMounts=[
        {"name": "cfg", "mountPath": f"/etc/{marker}/conf"},
        {"name": "scratch", "mountPath": f"/usr/share/{marker}"},
        {"name": "scratch", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}])],
        restartPolicy="Never",
        volumes=[{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "scratch", "emptyDir": {}}])
    await rt.sync_pod(p)
    await reports.until("quiet", phase("Succeeded"))
    out = await logs(rt, p, "app")
    assert "'..data', 'greeting', 'mode']" in out  # kube's atomic writer layout
    assert "state-visible False" in out
    assert "pid 2" in out  # PID 1 is the container's init
    assert "passwd True" in out
    assert not os.path.exists(f"/etc/{marker}")
    assert not os.path.exists(f"/usr/share/{marker}")
    assert not os.path.exists("/run/secrets/kubernetes.io")


async def test_exit_codes_and_crash_loop_back_off(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    p = pod("crash", [script("app", "import sys; print('run'); sys.exit(3)")], restartPolicy="OnFailure")
    await rt.sync_pod(p)
    st = await reports.until("crash", lambda s: cstatus(s, "app")["restartCount"] >= 3
                             and "waiting" in cstatus(s, "app")["state"])
    c = cstatus(st, "app")
    assert st["phase"] == "Running"
    assert c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert c["state"]["waiting"]["message"].startswith("back-off ")
    assert f"restarting failed container=app pod=crash_default({p['metadata']['uid']})" in c["state"]["waiting"]["message"]
    assert c["lastState"]["terminated"]["exitCode"] == 3 and c["lastState"]["terminated"]["reason"] == "Error"
    assert any(r == "BackOff" for _, r, _ in reports.events)
    # Back-off doubles: restarts 2 and 3 waited 0.3 s and 0.6 s (the first restart is immediate).
    messages = {cstatus(s, "app")["state"].get("waiting", {}).get("message") for s in reports.by_pod["crash"]}
    assert any(m and m.startswith("back-off 300ms") for m in messages)
    assert any(m and m.startswith("back-off 600ms") for m in messages)

    never = pod("never", [script("app", "import sys; sys.exit(7)")], restartPolicy="Never")
    await rt.sync_pod(never)
    st = await reports.until("never", phase("Failed"))
    assert cstatus(st, "app")["state"]["terminated"]["exitCode"] == 7
    assert cstatus(st, "app")["restartCount"] == 0


async def test_init_containers_run_in_order_before_the_app(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    work = "/work" if rt.isolated else None
    shared = {"volumeMounts": [{"name": "w", "mountPath": "/work-dir"}]} if work else {}
    path = "/work-dir/order" if work else os.path.join(rt.state_dir, "order")
    p = pod("init", [script("app", f"print(open({path!r}).read())", **shared)], restartPolicy="Never",
            initContainers=[script("first", f"import time; time.sleep(0.3); open({path!r}, 'a').write('1')", **shared),
                            script("second", f"open({path!r}, 'a').write('2')", **shared)],
            volumes=[{"name": "w", "emptyDir": {}}])
    await rt.sync_pod(p)
    pending = await reports.until("init", lambda s: s["phase"] == "Pending"
                                  and "running" in cstatus(s, "first")["state"])
    conds = {c["type"]: c for c in pending["conditions"]}
    assert conds["Initialized"]["status"] == "False"
    assert conds["Initialized"]["message"] == "containers with incomplete status: [first second]"
    assert cstatus(pending, "app")["state"]["waiting"]["reason"] == "PodInitializing"
    st = await reports.until("init", phase("Succeeded"))
    assert "12" in await logs(rt, p, "app")
    assert cstatus(st, "first")["state"]["terminated"]["reason"] == "Completed"
    assert {c["type"]: c["status"] for c in st["conditions"]}["Initialized"] == "True"

    failing = pod("init-fails", [script("app", "print('never')")], restartPolicy="Never",
                  initContainers=[script("setup", "import sys; sys.exit(2)")])
    await rt.sync_pod(failing)
    st = await reports.until("init-fails", phase("Failed"))
    assert cstatus(st, "setup")["state"]["terminated"]["exitCode"] == 2
    assert cstatus(st, "app")["state"]["waiting"]["reason"] == "PodInitializing"


async def test_probes_restart_on_liveness_failure_and_gate_readiness(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    fast = {"periodSeconds": 0.2, "failureThreshold": 2, "timeoutSeconds": 2}
    p = pod("probed", [
        script("live", "import time; time.sleep(60)",
               livenessProbe={"exec": {"command": ["false"]}, **fast}),
        script("unready", "import time; time.sleep(60)",
               readinessProbe={"exec": {"command": ["sh", "-c", "exit 1"]}, **fast}),
        script("ready", "import time; time.sleep(60)",
               readinessProbe={"exec": {"command": ["true"]}, **fast}),
    ], terminationGracePeriodSeconds=1)
    await rt.sync_pod(p)
    st = await reports.until("probed", lambda s: cstatus(s, "live")["restartCount"] >= 1
                             and cstatus(s, "ready")["ready"])
    assert cstatus(st, "unready")["ready"] is False
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Ready"]["status"] == "False"
    assert "unready" in conds["Ready"]["message"]
    assert any(r == "Unhealthy" and m.startswith("Liveness probe failed") for _, r, m in reports.events)
    assert any(r == "Killing" and "failed liveness probe, will be restarted" in m for _, r, m in reports.events)


async def test_http_and_tcp_probes(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    port = 18000 + os.getpid() % 1000
    p = pod("web", [serve("srv", port,
                           ports=[{"name": "http", "containerPort": port}],
                           readinessProbe={"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 0.2},
                           startupProbe={"tcpSocket": {"port": port}, "periodSeconds": 0.2,
                                         "failureThreshold": 50})])
    await rt.sync_pod(p)
    st = await reports.until("web", lambda s: cstatus(s, "srv")["ready"])
    assert cstatus(st, "srv")["started"] is True
    assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "True"
    await rt.kill_pod(p, 2)


async def test_termination_grace_then_sigkill(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    stubborn = ("import signal, time\nsignal.signal(signal.SIGTERM, lambda *a: print('ignoring TERM', flush=True))\n"
                "print('up', flush=True)\nwhile True: time.sleep(1)")
    polite = "import time; print('up', flush=True); time.sleep(60)"
    p = pod("grace", [script("stubborn", stubborn), script("polite", polite)])
    await rt.sync_pod(p)
    await reports.until("grace", lambda s: all("running" in c["state"] for c in s["containerStatuses"]))
    while "up" not in await logs(rt, p, "stubborn"):
        await asyncio.sleep(0.05)
    t0 = time.monotonic()
    await rt.kill_pod(p, 1)
    took = time.monotonic() - t0
    assert 0.9 <= took < 5, (reports.by_pod['grace'][-4:], await logs(rt, p, 'stubborn'), await logs(rt, p, 'polite'))
    st = reports.last("grace")
    assert cstatus(st, "stubborn")["state"]["terminated"]["exitCode"] == 137
    assert cstatus(st, "polite")["state"]["terminated"]["exitCode"] == 143
    assert st["phase"] == "Failed"
    assert "ignoring TERM" in await logs(rt, p, "stubborn")


async def test_logs_current_previous_tail_and_timestamps(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    code = ("import os, sys\n"
            "n = int(open(sys.argv[1]).read()) if os.path.exists(sys.argv[1]) else 0\n"
            "open(sys.argv[1], 'w').write(str(n + 1))\n"
            "for i in range(3): print(f'run{n} line{i}')\n"
            "sys.stdout.write('partial'); sys.stdout.flush()\n"
            "sys.exit(1)")
    host_dir = os.path.join(os.path.dirname(rt.state_dir), "data")
    counter = "/data/counter" if rt.isolated else os.path.join(host_dir, "counter")
    p = pod("logger", [script("app", code, args=[counter], volumeMounts=[{"name": "d", "mountPath": "/data"}])],
            restartPolicy="Always", volumes=[{"name": "d", "hostPath": {"path": host_dir, "type": "DirectoryOrCreate"}}])
    await rt.sync_pod(p)
    with pytest.raises(Exception, match='previous terminated container "app" in pod "logger" not found'):
        await logs(rt, p, "app", previous=True)
    await reports.until("logger", lambda s: cstatus(s, "app")["restartCount"] >= 1
                        and "waiting" in cstatus(s, "app")["state"])
    await rt.kill_pod(p, 0)
    c = rt.pods[p["metadata"]["uid"]].container("app")
    assert c is not None
    cur, prev = c.instance, c.instance - 1
    current = await logs(rt, p, "app")
    previous = await logs(rt, p, "app", previous=True)
    assert current == f"run{cur} line0\nrun{cur} line1\nrun{cur} line2\npartial"
    assert previous == f"run{prev} line0\nrun{prev} line1\nrun{prev} line2\npartial"
    assert await logs(rt, p, "app", tail_lines=1) == f"run{cur} line2\npartial"
    assert await logs(rt, p, "app", limit_bytes=4) == "run" + str(cur)[0]
    stamped = await logs(rt, p, "app", timestamps=True)
    assert stamped.splitlines()[0].split(" ", 1)[1] == f"run{cur} line0"
    assert stamped.splitlines()[0][:4].isdigit() and stamped.splitlines()[0].split(" ")[0].endswith("Z")
    assert await logs(rt, p, "app", since_time="2999-01-01T00:00:00Z") == ""
    with pytest.raises(Exception, match="container nope is not valid for pod logger"):
        await logs(rt, p, "nope")


async def test_exec_returns_output_and_exit_code(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    p = pod("exec", [script("app", "import time; time.sleep(60)", env=[{"name": "WHO", "value": "pod"}])])
    await rt.sync_pod(p)
    await reports.until("exec", phase("Running"))
    sess = await rt.streams.exec(p, "app", ["sh", "-c", "echo out $WHO $(hostname); echo err >&2; read x; echo got $x; exit 4"],
                                 stdin=True, stdout=True, stderr=True, tty=False)
    await sess.write_stdin(b"hi\n")
    await sess.close_stdin()
    chunks: dict[int, bytes] = {1: b"", 2: b""}
    async for stream, data in sess.output():
        chunks[stream] += data
    status = await sess.wait()
    assert chunks[1].decode().splitlines()[0].startswith("out pod")
    if rt.isolated:
        assert chunks[1].decode().splitlines()[0] == "out pod exec"
    assert "got hi" in chunks[1].decode()
    assert chunks[2] == b"err\n"
    assert status["status"] == "Failure" and status["details"]["causes"][0]["message"] == "4"
    ok = await rt.streams.exec(p, "app", ["true"], stdin=False, stdout=True, stderr=True, tty=False)
    async for _ in ok.output():
        pass
    assert (await ok.wait())["status"] == "Success"
    tty = await rt.streams.exec(p, "app", ["sh", "-c", "sleep 0.5; test -t 0 && stty size"], stdin=True, stdout=True, stderr=True,
                                tty=True)
    await tty.resize(100, 40)
    out = b""
    async for _, data in tty.output():
        out += data
    assert out.splitlines()[-1] == b"40 100"
    assert (await tty.wait())["status"] == "Success"


async def test_attach_to_a_container_with_stdin(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    p = pod("attach", [script("app", "import sys\nfor line in sys.stdin: print('echo', line.strip(), flush=True)",
                              stdin=True)])
    await rt.sync_pod(p)
    await reports.until("attach", phase("Running"))
    sess = await rt.streams.attach(p, "app", stdin=True, stdout=True, stderr=True, tty=False)
    await sess.write_stdin(b"ping\n")
    gen = sess.output()
    stream, data = await asyncio.wait_for(gen.__anext__(), 10)
    assert (stream, data) == (1, b"echo ping\n")
    await sess.close()
    assert "echo ping" in await logs(rt, p, "app")


async def test_port_forward_to_http_server(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    port = 19000 + os.getpid() % 1000
    p = pod("pf", [serve("srv", port,
                          readinessProbe={"tcpSocket": {"port": port}, "periodSeconds": 0.2})])
    await rt.sync_pod(p)
    await reports.until("pf", lambda s: cstatus(s, "srv")["ready"])
    conn = await rt.streams.port_forward(p, port)
    await conn.write(b"GET / HTTP/1.0\r\n\r\n")
    body = b""
    while chunk := await conn.read():
        body += chunk
    await conn.close()
    assert body.startswith(b"HTTP/1.0 200")
    with pytest.raises(Exception, match="connection refused"):
        await rt.streams.port_forward(p, port + 1)


async def test_container_without_command_fails_with_a_clear_reason(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    p = pod("nocmd", [{"name": "nginx", "image": "nginx"}])
    await rt.sync_pod(p)
    st = await reports.until("nocmd", lambda s: "CreateContainerError" in str(s))
    waiting = cstatus(st, "nginx")["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerError", "message": NO_COMMAND.format(name="nginx")}
    assert "does not pull images" in waiting["message"] and "set command" in waiting["message"]
    assert st["phase"] == "Pending"
    assert ("Warning", "Failed", "Error: " + waiting["message"]) in reports.events

    missing = pod("missing", [{"name": "app", "image": "x", "command": ["no-such-binary-kubenest"]}],
                  restartPolicy="Never")
    await rt.sync_pod(missing)
    st = await reports.until("missing", phase("Failed"))
    term = cstatus(st, "app")["state"]["terminated"]
    assert term["reason"] == "StartError" and term["exitCode"] == 128
    assert 'exec: "no-such-binary-kubenest": executable file not found in $PATH' in term["message"]


async def test_missing_config_map_is_a_config_error(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    p = pod("cfgerr", [script("app", "print(1)", env=[
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}])])
    await rt.sync_pod(p)
    st = await reports.until("cfgerr", lambda s: "CreateContainerConfigError" in str(s))
    assert cstatus(st, "app")["state"]["waiting"]["message"] == 'configmap "absent" not found'
    vol = pod("volerr", [script("app", "print(1)")], volumes=[{"name": "v", "secret": {"secretName": "absent"}}])
    await rt.sync_pod(vol)
    await reports.until("volerr", lambda s: cstatus(s, "app")["state"]["waiting"]["reason"] == "ContainerCreating")
    await asyncio.sleep(0.3)
    assert any(r == "FailedMount" and m == 'MountVolume.SetUp failed for volume "v" : secret "absent" not found'
               for _, r, m in reports.events)


async def test_gpus_assigned_per_container(env: tuple[ProcessRuntime, Reports]) -> None:
    rt, reports = env
    show = "import os; print(repr(os.environ['CUDA_VISIBLE_DEVICES']), os.environ['NVIDIA_VISIBLE_DEVICES'])"
    gpu = {"resources": {"limits": {"nvidia.com/gpu": 2}}}
    p = pod("train", [script("a", show, **gpu), script("b", show)], restartPolicy="Never")
    await rt.sync_pod(p)
    await reports.until("train", phase("Succeeded"))
    assert (await logs(rt, p, "a")).strip() == "'GPU-aaa,GPU-bbb' GPU-aaa,GPU-bbb"
    assert (await logs(rt, p, "b")).strip() == "'' void"
    greedy = pod("greedy", [script("a", show, **gpu)], restartPolicy="Never")
    await rt.sync_pod(greedy)
    st = await reports.until("greedy", phase("Failed"))
    assert st["reason"] == "UnexpectedAdmissionError"
    assert "Requested: 2, Available: 1" in st["message"]
    await rt.forget_pod(p["metadata"]["uid"])
    assert rt.gpu_owner == {}
    assert rt.node()["status"]["capacity"]["nvidia.com/gpu"] == "3"


def test_node_object(tmp_path: Any) -> None:
    rt = ProcessRuntime("node-x", str(tmp_path), None, gpus=[], node_ip="10.1.2.3")
    node = rt.node()
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "node-x"
    assert labels["kubernetes.io/os"] == "linux"
    assert labels["node.kubernetes.io/instance-type"] == "kubenest-process"
    assert labels["kubenest.io/runtime"] == "process"
    cap = node["status"]["capacity"]
    assert cap["cpu"] == str(os.cpu_count())
    assert cap["pods"] == "110" and cap["nvidia.com/gpu"] == "0" and cap["memory"].endswith("Ki")
    assert {"type": "InternalIP", "address": "10.1.2.3"} in node["status"]["addresses"]
    assert node["status"]["nodeInfo"]["operatingSystem"] == "linux"


def test_expansion_as_kube_does() -> None:
    env = {"A": "x", "B": "y"}
    assert expand("$(A)-$(B)", env) == "x-y"
    assert expand("$(C)", env) == "$(C)"
    assert expand("$$(A)", env) == "$(A)"
    assert expand("$(A", env) == "$(A"
    assert expand("a$b$", env) == "a$b$"


@needs_namespaces
async def test_two_pods_listen_on_the_same_port_in_their_own_network_namespaces(tmp_path: Any) -> None:
    from kubenest.host.network import PodNetworks

    nets = await PodNetworks.create(str(tmp_path / "net"), 1, bridge="kntest7", subnet="10.91.0.0/16",
                                    service_device="kntest7-svc")
    if not nets.enabled:
        await nets.destroy()
        pytest.skip(f"no pod network here: {nets.reason}")
    reports = Reports()
    rt = ProcessRuntime("node-1", str(tmp_path / "state"), nets, gpus=[])
    rt.set_reporter(reports.report)
    try:
        pods = []
        for name in ("one", "two"):
            # Each serves its own name on port 8080 of its own localhost.
            code = ("import http.server, socketserver\n"
                    "class H(http.server.BaseHTTPRequestHandler):\n"
                    "    def do_GET(self):\n"
                    f"        self.send_response(200); self.end_headers(); self.wfile.write(b'{name}')\n"
                    "socketserver.TCPServer.allow_reuse_address = True\n"
                    "http.server.HTTPServer(('0.0.0.0', 8080), H).serve_forever()\n")
            p = pod(name, [script("srv", code, readinessProbe={"httpGet": {"port": 8080}, "periodSeconds": 0.2})])
            pods.append(p)
            await rt.sync_pod(p)
        ips = []
        for p in pods:
            st = await reports.until(p["metadata"]["name"], lambda s: cstatus(s, "srv")["ready"])
            ips.append(st["podIP"])
            conn = await rt.streams.port_forward(p, 8080)
            await conn.write(b"GET / HTTP/1.0\r\n\r\n")
            body = b""
            while chunk := await conn.read():
                body += chunk
            await conn.close()
            assert body.endswith(p["metadata"]["name"].encode())
        assert ips[0] != ips[1] and all(ip.startswith("10.") for ip in ips)
        # The pod IP is routable from the node: a plain connection reaches the right pod.
        r, w = await asyncio.open_connection(ips[1], 8080)
        w.write(b"GET / HTTP/1.0\r\n\r\n")
        assert (await r.read()).endswith(b"two")
        w.close()
    finally:
        await rt.close()
        for p in rt.pods.copy():
            await rt.forget_pod(p)
        await nets.destroy()


async def test_containers_die_with_the_server(tmp_path: Any) -> None:
    # A server process (killed with SIGKILL, no cleanup at all) must not leave its containers running.
    server = f"""
import asyncio, sys, time
from kubenest.host.process import ProcessRuntime
async def main():
    rt = ProcessRuntime("n", {str(tmp_path / "state")!r}, None, gpus=[])
    pod = {{"metadata": {{"name": "p", "namespace": "d", "uid": "u"}},
            "spec": {{"containers": [{{"name": "c", "image": "x", "command": ["sleep", "300"]}}]}}}}
    await rt.sync_pod(pod)
    c = rt.pods["u"].container("c")
    while not c.running:
        await asyncio.sleep(0.05)
    print(c.pid1, c.proc.pid, flush=True)
    await asyncio.sleep(300)
asyncio.run(main())
"""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", server, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    pids = [int(x) for x in line.split()]
    assert all(os.path.exists(f"/proc/{pid}") for pid in pids)
    proc.kill()
    await proc.wait()
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
