"""RBAC inside logical clusters with real kubectl: can-i, whoami, Forbidden, shared default roles."""

from __future__ import annotations

import os
import textwrap

import yaml

from tests.conftest import Cluster


def as_user(cluster: Cluster, user: str, groups: tuple[str, ...] = ()) -> Cluster:
    """The same cluster through a kubeconfig with a signed token for `user`."""
    token, _ = cluster.server.server.tokens.issue(cluster.name, user, groups + ("system:authenticated",))
    path = os.path.join(cluster.server.data_dir, f"{cluster.name}-{user}.kubeconfig")
    with open(path, "w") as f:
        yaml.safe_dump(cluster.server.server.kubeconfig(cluster.name, token=token), f)
    return Cluster(cluster.server, cluster.name, path, cluster.kubectl_bin, cluster.helm_bin)


VIEWER = textwrap.dedent(
    """
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: bob-view, namespace: default}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
    subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
    """
)


def test_default_roles_are_visible_in_every_cluster(cluster: Cluster) -> None:
    names = cluster.kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for role in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery"):
        assert f"clusterrole.rbac.authorization.k8s.io/{role}" in names
    view = cluster.json("get", "clusterrole", "view")
    assert view["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
    assert view["aggregationRule"]["clusterRoleSelectors"]
    assert "cluster-admin" in cluster.kubectl("get", "clusterrolebindings", "-o", "name").stdout


def test_user_without_bindings_is_forbidden_with_kube_message(cluster: Cluster) -> None:
    bob = as_user(cluster, "bob")
    out = bob.kubectl("get", "pods", check=False)
    assert out.returncode != 0
    assert 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"' \
        in out.stderr
    assert bob.kubectl("auth", "can-i", "list", "pods", check=False).stdout.strip() == "no"


def test_role_binding_grants_view_in_one_namespace_only(cluster: Cluster) -> None:
    cluster.apply(VIEWER)
    bob = as_user(cluster, "bob")
    assert bob.kubectl("auth", "can-i", "list", "pods").stdout.strip() == "yes"
    assert bob.kubectl("auth", "can-i", "list", "secrets", check=False).stdout.strip() == "no"
    assert bob.kubectl("auth", "can-i", "create", "deployments", check=False).stdout.strip() == "no"
    assert bob.kubectl("auth", "can-i", "list", "pods", "-n", "kube-system", check=False).stdout.strip() == "no"
    bob.kubectl("get", "pods")
    listing = bob.kubectl("auth", "can-i", "--list").stdout
    assert "pods" in listing and "selfsubjectreviews.authentication.k8s.io" in listing
    whoami = bob.kubectl("auth", "whoami").stdout
    assert "bob" in whoami and "system:authenticated" in whoami


def test_admin_can_check_other_users_and_subresources(cluster: Cluster) -> None:
    cluster.apply(VIEWER)
    assert cluster.kubectl("auth", "can-i", "get", "pods", "--as=bob").stdout.strip() == "yes"
    denied = cluster.kubectl("auth", "can-i", "get", "pods/log", "--as=bob", check=False)
    assert denied.stdout.strip() == "yes"  # view includes pods/log
    assert cluster.kubectl("auth", "can-i", "create", "pods/exec", "--as=bob", check=False).stdout.strip() == "no"


def test_aggregated_roles_pick_up_new_rules(cluster: Cluster) -> None:
    cluster.apply(textwrap.dedent(
        """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: secrets-view
          labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
        rules:
        - apiGroups: [""]
          resources: [secrets]
          verbs: [get, list, watch]
        """))
    cluster.apply(VIEWER)
    bob = as_user(cluster, "bob")
    assert bob.kubectl("auth", "can-i", "list", "secrets").stdout.strip() == "yes"
    cluster.kubectl("delete", "clusterrole", "secrets-view")
    assert bob.kubectl("auth", "can-i", "list", "secrets", check=False).stdout.strip() == "no"


def test_changing_a_default_role_makes_a_private_copy(cluster: Cluster, bins: tuple[str, str]) -> None:
    from tests.conftest import make_cluster

    other = make_cluster(cluster.server, bins, "rbac-other")
    cluster.kubectl("label", "clusterrole", "edit", "team=ml")
    assert cluster.json("get", "clusterrole", "edit")["metadata"]["labels"]["team"] == "ml"
    assert "team" not in other.json("get", "clusterrole", "edit")["metadata"].get("labels", {})
    cluster.kubectl("delete", "clusterrole", "edit")
    assert cluster.kubectl("get", "clusterrole", "edit", check=False).returncode != 0
    assert other.kubectl("get", "clusterrole", "edit").returncode == 0


def test_service_account_token_authenticates_as_the_service_account(cluster: Cluster) -> None:
    cluster.kubectl("create", "serviceaccount", "robot")
    token = cluster.kubectl("create", "token", "robot").stdout.strip()
    assert token.count(".") == 2
    path = os.path.join(cluster.server.data_dir, f"{cluster.name}-robot.kubeconfig")
    with open(path, "w") as f:
        yaml.safe_dump(cluster.server.server.kubeconfig(cluster.name, token=token), f)
    robot = Cluster(cluster.server, cluster.name, path, cluster.kubectl_bin, cluster.helm_bin)
    whoami = robot.kubectl("auth", "whoami").stdout
    assert "system:serviceaccount:default:robot" in whoami and "system:serviceaccounts:default" in whoami
    assert robot.kubectl("get", "pods", check=False).returncode != 0
    cluster.kubectl("create", "rolebinding", "robot-edit", "--clusterrole=edit", "--serviceaccount=default:robot")
    robot.kubectl("create", "configmap", "from-robot", "--from-literal=a=b")


def test_discovery_needs_the_default_discovery_bindings(cluster: Cluster) -> None:
    bob = as_user(cluster, "bob")
    assert "v1" in bob.kubectl("api-versions").stdout.split()
    for binding in ("system:discovery", "system:basic-user", "system:public-info-viewer"):
        cluster.kubectl("delete", "clusterrolebinding", binding)
    denied = bob.kubectl("get", "--raw", "/version", check=False)
    assert denied.returncode != 0
    assert 'forbidden: User "bob" cannot get path "/version"' in denied.stderr
