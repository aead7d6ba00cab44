"""Controllers that run inside every logical cluster, shared across all of them.

Each controller watches its resources in all clusters at once (one store watcher per resource, not per
cluster), so an idle cluster costs them nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubenest.api.clusters import Clusters
    from kubenest.api.registry import Registry
    from kubenest.controllers.runtime import Manager
    from kubenest.store.store import Store


def build(store: Store, clusters: Clusters, registry: Registry, root_ca: str = "") -> Manager:
    """The controller manager with every in-cluster controller registered (started by the server).

    `root_ca` is the PEM bundle the root CA publisher puts in every namespace (none without it). The
    default objects those controllers would write into each new cluster are registered with the store
    as shared defaults instead (`serviceaccounts.SharedDefaults`).
    """
    from kubenest.controllers import serviceaccounts
    from kubenest.controllers.client import Client
    from kubenest.controllers.cronjob import CronJobController
    from kubenest.controllers.daemonset import DaemonSetController
    from kubenest.controllers.deployment import DeploymentController
    from kubenest.controllers.endpoints import EndpointsController, EndpointSliceController
    from kubenest.controllers.job import JobController, JobPodFinalizerController, TTLAfterFinishedController
    from kubenest.controllers.replicaset import ReplicaSetController
    from kubenest.controllers.resourcequota import ResourceQuotaController
    from kubenest.controllers.runtime import Manager
    from kubenest.controllers.serviceaccounts import RootCACertPublisher, ServiceAccountsController
    from kubenest.controllers.statefulset import StatefulSetController

    client = Client(store, clusters, registry)
    manager = Manager(store)
    shared = serviceaccounts.SharedDefaults(store, clusters, root_ca)
    shared.install()
    for controller in (JobController(client), JobPodFinalizerController(client), TTLAfterFinishedController(client),
                       CronJobController(client), ReplicaSetController(client),
                       StatefulSetController(client), DaemonSetController(client), DeploymentController(client),
                       EndpointsController(client), EndpointSliceController(client),
                       ServiceAccountsController(client, shared), ResourceQuotaController(client)):
        manager.add(controller)
    if root_ca:
        manager.add(RootCACertPublisher(client, root_ca, shared))
    return manager
