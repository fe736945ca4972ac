"""The Kubernetes manifests (deploy/k8s): every overlay renders with `kubectl kustomize` (offline),
every object is valid against the Kubernetes API schemas bundled with kubernetes-validate, and the
properties an operator relies on hold: probes, one beat, no secret values, resources on every
container, PDBs and autoscalers that reach their pods, WebSocket routes, body sizes, migrations first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.services import create_postgres_database, drop_postgres_database, unavailable

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
# The oldest Kubernetes release still supported by its cloud vendors at the time of writing; the
# manifests use nothing newer.
KUBERNETES_VERSION = "1.30.0"
MIB = 1024 * 1024
APP_DEPLOYMENTS = ("api", "worker", "webhooks", "beat")
SECRET_SETTINGS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "FLOWER_BASIC_AUTH",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "METRICS_TOKEN",
    "POSTGRES_PASSWORD",
    "FIRST_SUPERUSER_PASSWORD",
}
SECRET_NAME = "document-processing-secrets"

Resource = dict[str, Any]


def _kubectl() -> str:
    binary = shutil.which("kubectl")
    if binary is None:
        unavailable("kubectl", "not on PATH (./run_tests.sh installs it where apt can; see docs/KUBERNETES.md)")
    assert binary is not None
    out = subprocess.run([binary, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
    version = json.loads(out.stdout or "{}").get("kustomizeVersion", "")
    match = re.match(r"v(\d+)", version)
    if not match or int(match.group(1)) < 5:
        unavailable("kubectl with kustomize v5+ (kubectl 1.27 or newer)", f"{binary} has kustomize {version!r}")
    return binary


@pytest.fixture(scope="module")
def kubectl() -> str:
    return _kubectl()


@pytest.fixture(scope="module")
def rendered(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Resource]]:
    """Every overlay rendered from a copy of deploy/k8s whose secrets.env files are the committed
    examples (the real ones are git-ignored and never exist in a checkout)."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy)
    for example in copy.glob("overlays/*/secrets.env.example"):
        shutil.copy(example, example.with_name("secrets.env"))
    out: dict[str, list[Resource]] = {}
    for overlay in OVERLAYS:
        result = subprocess.run(
            [kubectl, "kustomize", str(copy / "overlays" / overlay)], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"kubectl kustomize overlays/{overlay}: {result.stderr}"
        out[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


def _find(resources: list[Resource], kind: str, name: str | None = None) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)]


def _one(resources: list[Resource], kind: str, name: str) -> Resource:
    found = _find(resources, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _pod_templates(resources: list[Resource]) -> Iterator[tuple[Resource, Resource]]:
    for resource in resources:
        if resource["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield resource, resource["spec"]["template"]


def _containers(pod: Resource) -> list[Resource]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def _config(resources: list[Resource]) -> dict[str, str]:
    (config,) = [r for r in _find(resources, "ConfigMap") if r["metadata"]["name"].startswith("document-processing")]
    return config["data"]


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[unit.lower()]


def _quantity(value: str | int) -> float:
    """A Kubernetes quantity in bytes (memory) or cores (cpu)."""
    number, unit = re.fullmatch(r"([\d.]+)(Ki|Mi|Gi|m)?", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * {None: 1, "Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB, "m": 0.001}[unit]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_kubernetes(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    assert resources
    for resource in resources:
        if resource["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: no bundled schema; test_keda_scaled_object checks its fields
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{overlay}: {resource['kind']}/{resource['metadata']['name']}: {path}: {exc.message}")


def test_overlays_are_dev_and_production() -> None:
    assert OVERLAYS == ["dev", "production"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_probes(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    api = _one(rendered[overlay], "Deployment", "api")
    (container,) = api["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8001}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    startup = container["startupProbe"]
    assert startup["httpGet"] == {"path": "/health", "port": "http"}
    # The startup probe gives a cold pod (imports, first connections) over a minute.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    service = _one(rendered[overlay], "Service", "api")
    assert service["spec"]["ports"] == [{"name": "http", "port": 8001, "targetPort": "http"}]
    assert service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_exactly_one_beat_never_autoscaled(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    beat = _one(resources, "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    command = beat["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:4] == ["celery", "-A", "fastapi_app.tasks.celery_app", "beat"]
    beats = [
        d
        for d in _find(resources, "Deployment")
        if "beat" in d["spec"]["template"]["spec"]["containers"][0].get("command", [])
    ]
    assert beats == [beat]
    for scaler in [*_find(resources, "HorizontalPodAutoscaler"), *_find(resources, "ScaledObject")]:
        assert scaler["spec"]["scaleTargetRef"]["name"] != "beat"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_values_in_any_object(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    secrets = _find(resources, "Secret")
    example = K8S / "overlays" / overlay / "secrets.env.example"
    pairs = dict(
        line.split("=", 1) for line in example.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    assert {"SECRET_KEY", "DATABASE_URL", "FLOWER_BASIC_AUTH"} <= set(pairs)
    # Every secret the example carries is a marked placeholder (or empty), never a value that works.
    for key, value in pairs.items():
        credentials = re.search(r"//[^/@:]+:([^/@]+)@", value)
        if key in SECRET_SETTINGS - {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"} and value:
            assert "CHANGE-ME" in value, key
        if credentials:
            assert "CHANGE-ME" in credentials.group(1), key
    placeholders = [value for value in pairs.values() if "CHANGE-ME" in value]
    for resource in resources:
        if resource["kind"] == "Secret":
            continue
        text = yaml.safe_dump(resource)
        for value in placeholders:
            assert value not in text, f"{resource['kind']}/{resource['metadata']['name']} holds a secret value"
        if resource["kind"] == "ConfigMap":
            assert not SECRET_SETTINGS & set(resource["data"]), resource["metadata"]["name"]
    for _, pod in _pod_templates(resources):
        for container in _containers(pod):
            for env in container.get("env", []):
                assert env["name"] not in SECRET_SETTINGS or "valueFrom" in env, (container["name"], env["name"])
            assert any(
                ref.get("secretRef", {}).get("name", "").startswith(SECRET_NAME) for ref in container.get("envFrom", [])
            ) or (container["name"] in {"postgres", "redis"}), container["name"]
    if overlay == "production":
        # Made outside git (kubectl create secret / External Secrets); referenced by name only.
        assert secrets == []
    else:
        # Generated from the git-ignored secrets.env; a hash suffix rolls the pods when it changes.
        (secret,) = secrets
        assert re.fullmatch(rf"{SECRET_NAME}-[a-z0-9]{{10}}", secret["metadata"]["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_config_and_secret_reference_resolves(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    config_maps = {r["metadata"]["name"] for r in _find(resources, "ConfigMap")}
    # production's Secret is made outside the overlay, under the name the base refers to
    secrets = {r["metadata"]["name"] for r in _find(resources, "Secret")} or {SECRET_NAME}
    for owner, pod in _pod_templates(resources):
        for container in _containers(pod):
            where = (owner["metadata"]["name"], container["name"])
            for ref in container.get("envFrom", []):
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in config_maps, where
                if "secretRef" in ref:
                    assert ref["secretRef"]["name"] in secrets, where
            for env in container.get("env", []):
                if "secretKeyRef" in env.get("valueFrom", {}):
                    assert env["valueFrom"]["secretKeyRef"]["name"] in secrets, where


def test_real_secret_files_are_git_ignored() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for overlay in OVERLAYS:
        path = f"deploy/k8s/overlays/{overlay}/secrets.env"
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    for owner, pod in _pod_templates(rendered[overlay]):
        for container in _containers(pod):
            resources = container.get("resources", {})
            for field in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(field, {})), (
                    owner["metadata"]["name"],
                    container["name"],
                    field,
                )
            assert _quantity(resources["requests"]["memory"]) <= _quantity(resources["limits"]["memory"])
            assert _quantity(resources["requests"]["cpu"]) <= _quantity(resources["limits"]["cpu"])


def _benchmark_mib(pattern: str) -> float:
    text = (ROOT / "docs" / "BENCHMARKS.md").read_text()
    match = re.search(pattern, text)
    assert match, f"docs/BENCHMARKS.md no longer has {pattern!r}: update deploy/k8s and this test"
    return float(match.group(1))


def test_memory_follows_the_measured_rss(rendered: dict[str, list[Resource]]) -> None:
    """Requests cover the measured peak RSS, limits the targets and the worker's own recycling."""
    api_peak = _benchmark_mib(r"API RSS under load ≤ 250 MiB \| (\d+) MiB peak")
    api_target = 250.0
    worker_max = _benchmark_mib(
        r"production default \(`CELERY_MAX_TASKS_PER_CHILD=200`\) \|[^|]*\|[^|]*\|[^|]*\|[^|]*\| ([\d.]+) MiB"
    )
    for overlay, resources in rendered.items():
        api = _one(resources, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert _quantity(api["requests"]["memory"]) >= api_peak * MIB, overlay
        assert _quantity(api["limits"]["memory"]) >= api_target * MIB, overlay
        worker = _one(resources, "Deployment", "worker")["spec"]["template"]["spec"]["containers"][0]
        command = worker["command"]
        concurrency = int(next(arg for arg in command if arg.startswith("--concurrency=")).split("=")[1])
        # The benchmark's figure is one main process and one pool child: per child, count it whole.
        assert _quantity(worker["resources"]["requests"]["memory"]) >= worker_max * MIB * concurrency, overlay
        recycle_kib = int(_config(resources)["CELERY_WORKER_MAX_MEMORY_PER_CHILD"])
        # A child is recycled before the pod's limit is reached by it, with room for the main process.
        assert _quantity(worker["resources"]["limits"]["memory"]) >= concurrency * recycle_kib * 1024 + worker_max * MIB


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budgets_select_existing_pods(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    budgets = {b["metadata"]["name"]: b for b in _find(resources, "PodDisruptionBudget")}
    assert set(budgets) == {"api", "worker"}
    for name, budget in budgets.items():
        selector = budget["spec"]["selector"]["matchLabels"]
        matching = [
            d["metadata"]["name"]
            for d in _find(resources, "Deployment")
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert matching == [name], (name, matching)
        assert budget["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_routes_websockets_batches_and_body_sizes(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    config = _config(resources)
    services = {s["metadata"]["name"]: s for s in _find(resources, "Service")}
    routes: dict[str, Resource] = {}
    hosts = set()
    for ingress in _find(resources, "Ingress"):
        assert ingress["spec"]["ingressClassName"] == "nginx"
        for rule in ingress["spec"]["rules"]:
            hosts.add(rule["host"])
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                port_names = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in port_names
                routes[path["path"]] = ingress["metadata"].get("annotations", {})
    assert len(hosts) == 1, hosts
    for ws in ("/ws", "/api/v1/ws", "/api/v1/graphql"):
        annotations = routes[ws]
        for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
            assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 3600, (ws, timeout)
    upload = _size(routes["/"]["nginx.ingress.kubernetes.io/proxy-body-size"])
    max_upload = int(config["MAX_UPLOAD_SIZE"])
    # The API, not the controller, answers FILE_TOO_LARGE: the body may exceed the file by at most 1 MiB.
    assert max_upload < upload <= max_upload + MIB
    for batch in ("/api/v1/documents/batch", "/api/documents/batch"):
        size = _size(routes[batch]["nginx.ingress.kubernetes.io/proxy-body-size"])
        assert int(config["BATCH_MAX_TOTAL_SIZE"]) < size <= int(config["BATCH_MAX_TOTAL_SIZE"]) + MIB
    # Retries never resend a POST that may have been committed (as nginx.conf).
    assert routes["/"]["nginx.ingress.kubernetes.io/proxy-next-upstream"] == "error timeout"
    assert "whitelist-source-range" in " ".join(routes["/metrics"]) and routes["/metrics"] is routes["/health/ready"]


def _queue_command(deployment: Resource) -> list[str]:
    return deployment["spec"]["template"]["spec"]["containers"][0]["command"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_autoscaler_alone_sets_the_worker_count(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    # A replica count in the manifest would reset the autoscaled count on every `kubectl apply`.
    assert "replicas" not in _one(rendered[overlay], "Deployment", "worker")["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_consume_their_queues(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    config = _config(resources)
    for name, setting in (("worker", "CELERY_QUEUE"), ("webhooks", "CELERY_WEBHOOK_QUEUE")):
        command = _queue_command(_one(resources, "Deployment", name))
        assert command[command.index("-Q") + 1] == f"$({setting})", name
        assert config[setting]


def test_dev_scales_workers_by_cpu_without_keda(rendered: dict[str, list[Resource]]) -> None:
    resources = rendered["dev"]
    assert _find(resources, "ScaledObject") == []
    (hpa,) = _find(resources, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"}
    _one(resources, "Deployment", "worker")
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    for name in ("api", "webhooks", "beat", "flower"):
        assert _one(resources, "Deployment", name)["spec"]["replicas"] == 1, name
    assert hpa["spec"]["minReplicas"] == 1


def test_production_scales_workers_on_the_queue_with_keda(rendered: dict[str, list[Resource]]) -> None:
    resources = rendered["production"]
    # KEDA owns the worker's HPA: the base's CPU HPA must be gone, or the two would fight.
    assert _find(resources, "HorizontalPodAutoscaler") == []
    scaled = _one(resources, "ScaledObject", "worker")
    # The CRD's required fields, by hand (no bundled schema for keda.sh/v1alpha1).
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    target = scaled["spec"]["scaleTargetRef"]
    assert target["name"] == "worker" and target.get("kind", "Deployment") == "Deployment"
    _one(resources, "Deployment", "worker")
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    triggers = {t["type"]: t for t in scaled["spec"]["triggers"]}
    redis = triggers["redis"]["metadata"]
    assert redis["listName"] == _config(resources)["CELERY_QUEUE"]
    assert int(redis["listLength"]) >= 1
    assert re.fullmatch(r"[\w.-]+:\d+", redis["address"])
    assert all(isinstance(value, str) for value in redis.values()), "KEDA metadata values are strings"
    assert triggers["cpu"]["metadata"]["value"].isdigit()
    assert _one(resources, "Deployment", "api")["spec"]["replicas"] >= 2
    image = _one(resources, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert re.fullmatch(r"[\w.-]+/document-processing-api:[\w.-]+", image) and not image.endswith(":latest")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_once_before_the_pods_start(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    job = _one(resources, "Job", "migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "init_db.py"]
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    for name in APP_DEPLOYMENTS:
        pod = _one(resources, "Deployment", name)["spec"]["template"]["spec"]
        (init,) = pod["initContainers"]
        assert init["command"][:3] == ["python", "init_db.py", "--wait-for-schema"], name
        assert init["image"] == image == pod["containers"][0]["image"], name
    # Only the Job migrates.
    for owner, pod in _pod_templates(resources):
        for container in _containers(pod):
            if container.get("command") == ["python", "init_db.py"]:
                assert owner is job


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_pods_run_unprivileged_on_a_read_only_root(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    for owner, pod in _pod_templates(resources):
        if owner["metadata"]["name"] in {"db", "redis"}:
            continue  # dev-only third-party images
        security = pod["spec"]["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
        for container in _containers(pod):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, (owner["metadata"]["name"], container["name"])


def test_storage_local_in_dev_s3_in_production(rendered: dict[str, list[Resource]]) -> None:
    dev, production = rendered["dev"], rendered["production"]
    assert _config(dev)["STORAGE_BACKEND"] == "local"
    claim = _one(dev, "PersistentVolumeClaim", "media")
    for name in APP_DEPLOYMENTS:
        volumes = {v["name"]: v for v in _one(dev, "Deployment", name)["spec"]["template"]["spec"]["volumes"]}
        assert volumes["media"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert _config(production)["STORAGE_BACKEND"] == "s3" and _config(production)["S3_BUCKET"]
    assert _find(production, "PersistentVolumeClaim") == []
    for name in APP_DEPLOYMENTS:
        volumes = {v["name"]: v for v in _one(production, "Deployment", name)["spec"]["template"]["spec"]["volumes"]}
        assert set(volumes["media"]) == {"name", "emptyDir"}, name
    # The base (RWX) is what several nodes need with local storage.
    base = yaml.safe_load((K8S / "base" / "media-pvc.yaml").read_text())
    assert base["spec"]["accessModes"] == ["ReadWriteMany"]


def test_wait_for_schema_gives_up_on_a_database_that_does_not_answer() -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "ENVIRONMENT": "test"}
    wait = [sys.executable, "init_db.py", "--wait-for-schema", "1"]
    result = subprocess.run(wait, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "the database does not answer (OperationalError)" in result.stderr


def test_wait_for_schema_waits_for_the_migration() -> None:
    """The init container's command: fails on a database the Job has not migrated yet, passes after."""
    url = create_postgres_database()
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "test"}
    try:
        wait = [sys.executable, "init_db.py", "--wait-for-schema", "1"]
        before = subprocess.run(wait, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert before.returncode == 1, before.stderr
        assert "has the migration Job run?" in before.stderr
        migrate = subprocess.run(
            [sys.executable, "init_db.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert migrate.returncode == 0, migrate.stderr
        after = subprocess.run(wait, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert after.returncode == 0, after.stderr
        assert "Database schema is current." in after.stdout
    finally:
        drop_postgres_database(url)


def test_the_resource_table_in_the_docs_matches_the_manifests(rendered: dict[str, list[Resource]]) -> None:
    text = (ROOT / "docs" / "KUBERNETES.md").read_text()
    rows = re.findall(r"^\| ([\w-]+)(?: \([^)]*\))? \| (\S+) / (\S+) \| (\S+) / (\S+) \|", text, re.M)
    documented = {name: (cpu, memory, cpu_limit, memory_limit) for name, cpu, memory, cpu_limit, memory_limit in rows}
    assert documented, "docs/KUBERNETES.md has no resource table"
    seen = set()
    for _, pod in _pod_templates(rendered["production"]):
        for container in _containers(pod):
            resources = container["resources"]
            actual = (
                str(resources["requests"]["cpu"]),
                str(resources["requests"]["memory"]),
                str(resources["limits"]["cpu"]),
                str(resources["limits"]["memory"]),
            )
            assert documented[container["name"]] == actual, container["name"]
            seen.add(container["name"])
    assert seen == set(documented)
