"""deploy/kubernetes renders with kustomize, every object is valid against the Kubernetes schema
(offline, kubernetes-validate), and our own rules hold: probes, limits, a non-root user and a
read-only root filesystem for every container, only variables shared/config.py reads, pinned
images, and inventory reachable only from the order service, the reconcilers and Prometheus."""

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from shared.config import VARIABLES

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy/kubernetes"
VERSION = "1.30"
# Custom resources: their operators own the schemas (CloudNativePG, Prometheus Operator).
CUSTOM = {"Cluster": "postgresql.cnpg.io/v1", "ServiceMonitor": "monitoring.coreos.com/v1"}

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def render(path):
    out = subprocess.run(
        ["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def objects(request):
    return request.param, render(KUBERNETES / request.param)


def pods(objects):
    """(object name, pod spec) of every workload."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj, obj["spec"]["template"]["spec"]


def test_every_object_is_valid_against_the_kubernetes_schema(objects):
    _, found = objects
    for obj in found:
        if obj["kind"] in CUSTOM:
            assert obj["apiVersion"] == CUSTOM[obj["kind"]]
            continue
        kubernetes_validate.validate(obj, VERSION, strict=True)  # raises on any error


def test_every_container_has_probes_limits_a_non_root_user_and_a_read_only_root(objects):
    _, found = objects
    problems = []
    for obj, pod in pods(found):
        for container in pod["containers"]:
            where = f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"
            security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            if not security.get("runAsNonRoot") or not security.get("runAsUser"):
                problems.append(f"{where}: may run as root")
            if not security.get("readOnlyRootFilesystem"):
                problems.append(f"{where}: writable root filesystem")
            limits = container.get("resources", {}).get("limits", {})
            if not {"cpu", "memory"} <= set(limits):
                problems.append(f"{where}: no cpu and memory limits")
            probes = {"startupProbe", "livenessProbe", "readinessProbe"} - set(container)
            if obj["kind"] != "Job" and probes:  # a Job runs to completion: nothing to probe
                problems.append(f"{where}: missing {sorted(probes)}")
    assert problems == []


def test_the_services_probe_the_health_endpoints(objects):
    _, found = objects
    for obj, pod in pods(found):
        if obj["metadata"]["name"] in ("orders", "inventory"):
            (container,) = pod["containers"]
            assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"


def test_every_setting_is_one_the_services_read(objects):
    _, found = objects
    known = VARIABLES
    named = set()
    for obj in found:
        if obj["kind"] == "ConfigMap" and not obj["metadata"]["name"].startswith("edge-config"):
            named |= set(obj["data"])
    for obj, pod in pods(found):
        if obj["metadata"]["name"] in ("redis", "edge"):
            continue  # not ours
        for container in pod["containers"]:
            named |= {env["name"] for env in container.get("env", [])}
    assert named and named - known == set()


def test_secrets_are_referenced_never_held(objects):
    _, found = objects
    assert [obj for obj in found if obj["kind"] == "Secret"] == []
    for _, pod in pods(found):
        for container in pod["containers"]:
            for env in container.get("env", []):
                if env["name"].endswith(("_URL", "_KEY", "_TOKEN", "_PASSWORD")):
                    assert "secretKeyRef" in env.get("valueFrom", {}), env["name"]


def test_the_example_overlay_pins_every_image():
    found = render(KUBERNETES / "overlays/example")
    images = {c["image"] for _, pod in pods(found) for c in pod["containers"]}
    images |= {obj["spec"]["imageName"] for obj in found if obj["kind"] == "Cluster"}
    unpinned = [
        image
        for image in images
        if "@sha256:" not in image
        and (":" not in image.rsplit("/", 1)[-1] or image.endswith((":latest", ":main")))
    ]
    assert images and unpinned == []


def test_only_the_order_service_the_reconcilers_and_prometheus_reach_inventory(objects):
    _, found = objects
    (policy,) = [
        obj
        for obj in found
        if obj["kind"] == "NetworkPolicy"
        and obj["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "inventory"}
    ]
    (rule,) = policy["spec"]["ingress"]
    allowed = {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in rule["from"]}
    assert allowed == {"orders", "reconciler", "prometheus"}
    assert rule["ports"] == [{"protocol": "TCP", "port": 3002}]


def test_migrations_run_as_the_owner_roles_and_the_services_do_not(objects):
    _, found = objects
    for obj, pod in pods(found):
        names = {env["name"] for c in pod["containers"] for env in c.get("env", [])}
        owner = {"ORDERS_OWNER_DATABASE_URL", "INVENTORY_OWNER_DATABASE_URL"}
        if obj["kind"] == "Job":
            assert owner <= names
        else:
            assert not owner & names, obj["metadata"]["name"]


def test_as_many_edge_replicas_as_order_pods_so_each_pod_gets_what_one_edge_sends(objects):
    # Each edge replica sends the orders Service at most LAYOUTS["orders"].at_once requests;
    # with as many edges as pods, a pod gets that many on average, as on one machine.
    _, found = objects
    replicas = {
        obj["metadata"]["name"]: obj["spec"]["replicas"]
        for obj in found
        if obj["kind"] == "Deployment"
    }
    assert replicas["edge"] == replicas["orders"]
