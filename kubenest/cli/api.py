"""A small client of the management API for the CLI (standard library only).

It reads the admin kubeconfig that `kubenest up` writes, and turns every failure into one line that
says what failed, why, and what to do (`CliError`).
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request
from typing import Any

import yaml


class CliError(Exception):
    """A failure to print as one line, with a non-zero exit."""


class ManagementClient:
    def __init__(self, kubeconfig_path: str) -> None:
        self.path = kubeconfig_path
        try:
            with open(kubeconfig_path) as f:
                config = yaml.safe_load(f)
        except FileNotFoundError:
            raise CliError(
                f"no kubenest credentials at {kubeconfig_path}: start the server with `kubenest up` "
                "(or pass --kubeconfig / set KUBENEST_KUBECONFIG)"
            ) from None
        except (OSError, yaml.YAMLError) as e:
            raise CliError(f"cannot read {kubeconfig_path}: {e}") from None
        try:
            ctx_name = config["current-context"]
            ctx = next(c["context"] for c in config["contexts"] if c["name"] == ctx_name)
            cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
            user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
        except (KeyError, StopIteration, TypeError):
            raise CliError(f"{kubeconfig_path} is not a kubeconfig with a current context") from None
        self.server: str = cluster["server"].rstrip("/")
        self.token: str = user.get("token", "")
        self.ssl = ssl.create_default_context()
        if cluster.get("certificate-authority-data"):
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            self.ssl = ssl.create_default_context(cadata=ca)
        elif cluster.get("certificate-authority"):
            self.ssl = ssl.create_default_context(cafile=cluster["certificate-authority"])

    def request(self, method: str, path: str, body: Any = None, ok_404: bool = False) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            if ok_404 and e.code == 404:
                return None
            try:
                status = json.loads(e.read())
                message = status.get("message") or e.reason
            except (ValueError, AttributeError):
                message = e.reason
            if e.code == 401:
                raise CliError(f"the kubenest server at {self.server} refused the credentials in {self.path} "
                               "(401 Unauthorized): use the admin.kubeconfig of the running server") from None
            if e.code == 403:
                raise CliError(f"not allowed: {message}") from None
            raise CliError(str(message)) from None
        except urllib.error.URLError as e:
            reason = getattr(e.reason, "strerror", None) or str(e.reason)
            raise CliError(f"cannot reach the kubenest server at {self.server}: {reason}. "
                           "Is it running? Start it with `kubenest up`.") from None
        except TimeoutError:
            raise CliError(f"the kubenest server at {self.server} did not answer within 30 s") from None


def user_kubeconfig_path() -> str:
    """The kubeconfig kubectl uses: the first file of KUBECONFIG, else ~/.kube/config."""
    env = os.environ.get("KUBECONFIG", "")
    for p in env.split(os.pathsep):
        if p:
            return p
    return os.path.join(os.path.expanduser("~"), ".kube", "config")


def load_kubeconfig(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        return {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [],
                "current-context": "", "preferences": {}}
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    for k in ("clusters", "users", "contexts"):
        data[k] = data.get(k) or []
    return data


def save_kubeconfig(path: str, data: dict[str, Any]) -> None:
    """Write atomically with owner-only permissions, as kubectl does."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".kubeconfig-")
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(data, f, default_flow_style=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def merge_context(target: dict[str, Any], source: dict[str, Any]) -> str:
    """Copy the current context of `source` (with its cluster and user) into `target`; returns its name."""
    ctx = next(c for c in source["contexts"] if c["name"] == source["current-context"])
    for section, name in (("clusters", ctx["context"]["cluster"]), ("users", ctx["context"]["user"]),
                          ("contexts", ctx["name"])):
        entry = next(e for e in source[section] if e["name"] == name)
        target[section] = [e for e in target[section] if e.get("name") != name] + [entry]
    return str(ctx["name"])


def remove_context(target: dict[str, Any], name: str) -> bool:
    ctx = next((c for c in target["contexts"] if c.get("name") == name), None)
    if ctx is None:
        return False
    target["contexts"] = [c for c in target["contexts"] if c.get("name") != name]
    target["clusters"] = [c for c in target["clusters"] if c.get("name") != ctx["context"].get("cluster")]
    target["users"] = [u for u in target["users"] if u.get("name") != ctx["context"].get("user")]
    if target.get("current-context") == name:
        target["current-context"] = ""
    return True
