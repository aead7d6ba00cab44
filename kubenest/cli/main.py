"""The `kubenest` command line."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml

from kubenest.cli.api import (
    CliError,
    ManagementClient,
    load_kubeconfig,
    merge_context,
    remove_context,
    save_kubeconfig,
    user_kubeconfig_path,
)
from kubenest.server.runtime import Server, ServerConfig, default_home
from kubenest.syncer.hostclient import load_kubeconfig as load_host_kubeconfig


def cmd_up(args: argparse.Namespace) -> int:
    data_dir = os.path.abspath(args.data_dir or default_home())
    if args.host_kubeconfig:
        try:
            load_host_kubeconfig(args.host_kubeconfig, args.host_context)
        except (OSError, ValueError) as e:
            print(f"kubenest: cannot use --host-kubeconfig {args.host_kubeconfig}: {e}. Give the kubeconfig of "
                  "the cluster that should run the pods, or leave the option out for the embedded host.",
                  file=sys.stderr)
            return 1
    config = ServerConfig(data_dir=data_dir, address=args.address, port=args.port, log_level=args.log_level,
                          host_kubeconfig=args.host_kubeconfig, host_context=args.host_context,
                          pod_api_address=args.pod_api_address, simulated_nodes=args.simulated_nodes,
                          process_node=not args.no_process_node)
    try:
        server = Server(config)
    except OSError as e:
        print(f"kubenest: cannot use data directory {data_dir}: {e}", file=sys.stderr)
        return 1

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started.is_set() and not task.done():
            await asyncio.sleep(0.01)
        if server.started.is_set():
            kubeconfig = os.path.join(data_dir, "admin.kubeconfig")
            print(f"kubenest is up at {server.url()} - connect with: export KUBECONFIG={kubeconfig}",
                  flush=True)
        await task

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run())
    except OSError as e:
        print(f"kubenest: cannot listen on {args.address}:{args.port}: {e.strerror or e}. "
              "Is another server running there? Choose another --port.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop

        return uvloop.new_event_loop
    except ImportError:
        return None


VC_PATH = "/apis/kubenest.io/v1alpha1/virtualclusters"
CONTEXT_PREFIX = "kubenest_"


def _client(args: argparse.Namespace) -> ManagementClient:
    path = (args.kubeconfig or os.environ.get("KUBENEST_KUBECONFIG")
            or os.path.join(default_home(), "admin.kubeconfig"))
    return ManagementClient(path)


def _state_path() -> str:
    return os.path.join(default_home(), "cli.json")


def _remember_previous_context(previous: str) -> None:
    """Remember the context active before `connect`, for `disconnect` (as vcluster does)."""
    if previous.startswith(CONTEXT_PREFIX):
        return
    os.makedirs(default_home(), exist_ok=True)
    with open(_state_path(), "w") as f:
        json.dump({"previousContext": previous}, f)


def _previous_context() -> str:
    try:
        with open(_state_path()) as f:
            return str(json.load(f).get("previousContext", ""))
    except (OSError, ValueError):
        return ""


def _vc_kubeconfig(client: ManagementClient, name: str) -> dict[str, Any]:
    vc = client.request("GET", f"{VC_PATH}/{name}", ok_404=True)
    if vc is None:
        raise CliError(f'virtual cluster "{name}" not found: see `kubenest list`')
    phase = (vc.get("status") or {}).get("phase")
    if phase != "Ready":
        raise CliError(f'virtual cluster "{name}" is {phase or "Pending"}, not Ready yet')
    ns_name = (vc.get("status") or {}).get("kubeconfigSecret", f"kubenest-system/vc-{name}")
    ns, _, secret_name = ns_name.partition("/")
    secret = client.request("GET", f"/api/v1/namespaces/{ns}/secrets/{secret_name}", ok_404=True)
    if secret is None or "config" not in (secret.get("data") or {}):
        raise CliError(f'the kubeconfig of virtual cluster "{name}" is missing (Secret {ns_name})')
    config: dict[str, Any] = yaml.safe_load(base64.b64decode(secret["data"]["config"]))
    return config


def _connect(client: ManagementClient, name: str) -> tuple[str, str]:
    config = _vc_kubeconfig(client, name)
    path = user_kubeconfig_path()
    target = load_kubeconfig(path)
    previous = target.get("current-context") or ""
    ctx = merge_context(target, config)
    target["current-context"] = ctx
    save_kubeconfig(path, target)
    _remember_previous_context(previous)
    return ctx, path


def _wait_ready(client: ManagementClient, name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        vc = client.request("GET", f"{VC_PATH}/{name}", ok_404=True)
        status = (vc or {}).get("status") or {}
        if status.get("phase") == "Ready":
            return dict(vc)
        if status.get("phase") == "Failed":
            raise CliError(f'virtual cluster "{name}" failed: {status.get("message", "no reason given")}')
        if time.monotonic() > deadline:
            raise CliError(f'virtual cluster "{name}" is not Ready after {timeout:.0f} s '
                           f'(phase {status.get("phase", "unknown")}); check `kubectl get vc {name} -o yaml`')
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def cmd_create(args: argparse.Namespace) -> int:
    client = _client(args)
    started = time.perf_counter()
    spec: dict[str, Any] = {}
    if args.kubernetes_version:
        spec["kubernetesVersion"] = args.kubernetes_version
    if args.owner:
        spec["owner"] = args.owner
    body = {"apiVersion": "kubenest.io/v1alpha1", "kind": "VirtualCluster", "metadata": {"name": args.name},
            "spec": spec}
    client.request("POST", VC_PATH, body)
    vc = _wait_ready(client, args.name, args.timeout)
    took = (time.perf_counter() - started) * 1000
    version = (vc.get("status") or {}).get("kubernetesVersion", "")
    print(f'virtual cluster "{args.name}" created (Kubernetes {version}) in {took:.0f} ms')
    if args.connect:
        ctx, path = _connect(client, args.name)
        print(f'switched kubectl context to "{ctx}" in {path}')
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    items = _client(args).request("GET", VC_PATH)["items"]
    if args.output == "json":
        print(json.dumps(items, indent=2))
        return 0
    if args.output == "yaml":
        print(yaml.safe_dump(items, default_flow_style=False), end="")
        return 0
    rows = [("NAME", "STATUS", "VERSION", "OWNER", "AGE")]
    for vc in items:
        status = vc.get("status") or {}
        rows.append((vc["metadata"]["name"], status.get("phase", "Pending"),
                     status.get("kubernetesVersion", (vc.get("spec") or {}).get("kubernetesVersion", "")),
                     (vc.get("spec") or {}).get("owner", ""), _age(vc["metadata"].get("creationTimestamp", ""))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _age(ts: str) -> str:
    if not ts:
        return "<unknown>"
    from kubenest.api.tables import human_duration, parse_time

    t = parse_time(ts)
    return human_duration(time.time() - t.timestamp()) if t else "<unknown>"


def cmd_connect(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.print:
        print(yaml.safe_dump(_vc_kubeconfig(client, args.name), default_flow_style=False), end="")
        return 0
    ctx, path = _connect(client, args.name)
    print(f'switched kubectl context to "{ctx}" in {path}')
    return 0


def cmd_disconnect(args: argparse.Namespace) -> int:
    path = user_kubeconfig_path()
    target = load_kubeconfig(path)
    current = target.get("current-context") or ""
    if not current.startswith(CONTEXT_PREFIX):
        raise CliError(f'the current kubectl context "{current}" is not a kubenest virtual cluster')
    previous = _previous_context()
    target["current-context"] = previous
    save_kubeconfig(path, target)
    print(f'switched kubectl context back to "{previous}"' if previous else
          f'left "{current}"; no previous context to switch back to')
    return 0


def cmd_kubeconfig(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(_vc_kubeconfig(_client(args), args.name), default_flow_style=False), end="")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    client = _client(args)
    started = time.perf_counter()
    if client.request("DELETE", f"{VC_PATH}/{args.name}", ok_404=True) is None:
        raise CliError(f'virtual cluster "{args.name}" not found: see `kubenest list`')
    if args.wait:
        deadline = time.monotonic() + args.timeout
        while client.request("GET", f"{VC_PATH}/{args.name}", ok_404=True) is not None:
            if time.monotonic() > deadline:
                raise CliError(f'virtual cluster "{args.name}" still exists after {args.timeout:.0f} s')
            time.sleep(0.01)
    path = user_kubeconfig_path()
    target = load_kubeconfig(path)
    removed = remove_context(target, CONTEXT_PREFIX + args.name)
    if removed:
        if not target.get("current-context"):
            target["current-context"] = _previous_context()
        save_kubeconfig(path, target)
    took = (time.perf_counter() - started) * 1000
    print(f'virtual cluster "{args.name}" deleted in {took:.0f} ms' if args.wait else
          f'virtual cluster "{args.name}" is being deleted')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubenest", description="Virtual Kubernetes clusters in milliseconds.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the kubenest API server in the foreground")
    up.add_argument("--data-dir", default=None, help="where data lives (default: $KUBENEST_HOME or ~/.kubenest)")
    up.add_argument("--port", type=int, default=6443)
    up.add_argument("--address", default="127.0.0.1")
    up.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    up.add_argument("--host-kubeconfig", default=None,
                    help="run pods on this Kubernetes cluster instead of the embedded host")
    up.add_argument("--host-context", default=None, help="context of --host-kubeconfig (default: its current)")
    up.add_argument("--pod-api-address", default=None,
                    help="HOST[:PORT] where pods on the host reach this API server (default: --address)")
    up.add_argument("--simulated-nodes", type=int, default=0,
                    help="embedded host: add N simulated nodes (pods there run nothing; for scale tests)")
    up.add_argument("--no-process-node", action="store_true",
                    help="embedded host: no node that runs containers as local processes")
    up.set_defaults(func=cmd_up)

    def client_command(name: str, help_: str, func: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--kubeconfig", default=None,
                       help="admin kubeconfig of the kubenest server (default: $KUBENEST_KUBECONFIG or "
                            "$KUBENEST_HOME/admin.kubeconfig)")
        p.set_defaults(func=func, log_level="warning")
        return p

    create = client_command("create", "create a virtual cluster and connect kubectl to it", cmd_create)
    create.add_argument("name")
    create.add_argument("--kubernetes-version", default=None, help="1.25 to 1.37 (default 1.37)")
    create.add_argument("--owner", default=None, help="user who gets cluster-admin (default: kubernetes-admin)")
    create.add_argument("--connect", action=argparse.BooleanOptionalAction, default=True,
                        help="add a kubectl context and switch to it (default: yes)")
    create.add_argument("--timeout", type=float, default=60.0)
    lst = client_command("list", "list virtual clusters", cmd_list)
    lst.add_argument("-o", "--output", choices=["table", "json", "yaml"], default="table")
    connect = client_command("connect", "switch kubectl to a virtual cluster", cmd_connect)
    connect.add_argument("name")
    connect.add_argument("--print", action="store_true", help="print the kubeconfig instead of switching")
    client_command("disconnect", "switch kubectl back to the context used before connect", cmd_disconnect)
    kc = client_command("kubeconfig", "print the kubeconfig of a virtual cluster", cmd_kubeconfig)
    kc.add_argument("name")
    delete = client_command("delete", "delete a virtual cluster and everything in it", cmd_delete)
    delete.add_argument("name")
    delete.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True)
    delete.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), format="%(levelname)s %(name)s: %(message)s")
    try:
        result: int = args.func(args)
    except CliError as e:
        print(f"kubenest: {e}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
