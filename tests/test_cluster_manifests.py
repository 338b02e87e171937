"""cluster/launcher.yaml against Ray's own launcher schema; cluster/rayjob.yaml against the fields KubeRay requires.

No cloud and no Kubernetes here: the launcher config goes through Ray's validator (ray-schema.json plus the
checks ``ray up`` runs), the RayJob through the required fields and validation rules of KubeRay's ray.io/v1 API
(RayJobSpec, RayClusterSpec, HeadGroupSpec, WorkerGroupSpec); both entrypoints must parse as ``docray run``
and their pipeline and overrides must build a plan.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from docray.cli import build_parser
from docray.cluster.submit import check_pipeline

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "cluster" / "launcher.yaml"
RAYJOB = ROOT / "cluster" / "rayjob.yaml"
MAX_RAYJOB_NAME = 47  # KubeRay: 53 (RayCluster name) - 6 (suffix of the generated cluster)
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@pytest.fixture(scope="module")
def launcher() -> dict:
    return yaml.safe_load(LAUNCHER.read_text())


@pytest.fixture(scope="module")
def rayjob() -> dict:
    return yaml.safe_load(RAYJOB.read_text())


def ray_schema() -> dict:
    import ray.autoscaler

    path = Path(ray.autoscaler.__file__).parent / "ray-schema.json"
    assert path.is_file(), "this Ray ships no launcher schema"
    return json.loads(path.read_text())


# ----------------------------------------------------------------------------- launcher


def test_launcher_validates_against_rays_schema_and_checks(launcher):
    jsonschema = pytest.importorskip("jsonschema")
    from ray.autoscaler._private.util import fillout_defaults, prepare_config, validate_config

    jsonschema.validate(launcher, ray_schema())
    validate_config(fillout_defaults(launcher))  # what `ray up` runs: defaults merged, head type, min/max workers
    prepared = prepare_config(launcher)
    assert set(prepared["available_node_types"]) == {"head", "gpu_worker", "cpu_worker"}


def test_the_schema_check_rejects_a_broken_launcher(launcher):
    jsonschema = pytest.importorskip("jsonschema")
    broken = copy.deepcopy(launcher)
    broken["available_node_types"]["gpu_worker"]["resources"] = {"CPU": 4, "GPU": 0.5}  # resources are integers
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, ray_schema())
    broken = copy.deepcopy(launcher)
    broken["available_node_types"]["cpu_worker"]["instance_type"] = "m7i.4xlarge"  # not a node-type field
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, ray_schema())


def test_launcher_node_types(launcher):
    types = launcher["available_node_types"]
    head = types[launcher["head_node_type"]]
    assert head["resources"] == {"CPU": 0}, "the head must not run tasks"
    assert "--num-cpus=0" in " ".join(launcher["head_start_ray_commands"])
    gpu, cpu = types["gpu_worker"], types["cpu_worker"]
    assert gpu["resources"]["GPU"] == 1 and gpu["node_config"]["InstanceType"].startswith(("g5.", "g6."))
    assert cpu["resources"].get("GPU", 0) == 0 and cpu["resources"]["CPU"] >= 4
    for node_type in (gpu, cpu):
        assert 0 <= node_type["min_workers"] <= node_type["max_workers"]
    assert gpu["max_workers"] + cpu["max_workers"] <= launcher["max_workers"]


def test_launcher_installs_docray_with_s3_and_gpu_extras(launcher):
    commands = " && ".join(launcher["setup_commands"])
    assert re.search(r"docray-\*\.whl.*\[s3,gpu\]", commands), commands
    assert "onnxruntime-gpu" in commands
    mounted = {remote: local for remote, local in launcher["file_mounts"].items()}
    assert any(remote in commands for remote in mounted), "the wheel must come from a file mount"


# ----------------------------------------------------------------------------- RayJob


def docray_run_args(entrypoint: str):
    argv = shlex.split(entrypoint)
    assert argv[:3] == ["python", "-m", "docray.cli"], argv
    return build_parser().parse_args(argv[3:])


def test_rayjob_top_level(rayjob):
    assert rayjob["apiVersion"] == "ray.io/v1" and rayjob["kind"] == "RayJob"
    name = rayjob["metadata"]["name"]
    assert DNS_1035.match(name) and len(name) <= MAX_RAYJOB_NAME
    spec = rayjob["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] >= 0
    assert spec.get("activeDeadlineSeconds", 1) > 0 and spec.get("backoffLimit", 0) >= 0
    assert spec.get("submissionMode", "K8sJobMode") in ("K8sJobMode", "HTTPMode")
    runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
    assert isinstance(runtime_env, dict)
    from ray.runtime_env import RuntimeEnv

    RuntimeEnv(**runtime_env)  # a runtime env Ray accepts


def test_rayjob_entrypoint_is_a_valid_docray_run(rayjob):
    args = docray_run_args(rayjob["spec"]["entrypoint"])
    assert args.command == "run" and args.address == "auto" and args.no_progress
    assert all(item.startswith("s3://") for item in [*args.input, args.output])
    check_pipeline(args.pipeline, args.set or [])  # the bundled pipeline and every --set build a plan
    assert any(item.endswith("num_gpus=0.5") for item in args.set)


def _containers(group: dict) -> list[dict]:
    containers = group["template"]["spec"]["containers"]
    assert containers, "KubeRay needs at least one container per group"
    for container in containers:
        assert container["name"] and container["image"]
    return containers


def _check_ray_start_params(group: dict) -> None:
    params = group["rayStartParams"]
    assert isinstance(params, dict)
    assert all(isinstance(v, str) for v in params.values()), "rayStartParams values are strings"
    assert "labels" not in params
    # KubeRay refuses resources both in rayStartParams and in the group's `resources` field
    assert not ({"num-cpus", "num-gpus", "memory", "resources"} & set(params) and group.get("resources"))


def test_rayjob_cluster_groups(rayjob):
    cluster = rayjob["spec"]["rayClusterSpec"]
    assert re.match(r"^\d+\.\d+\.\d+$", cluster["rayVersion"])
    head = cluster["headGroupSpec"]
    _check_ray_start_params(head)
    assert head["rayStartParams"].get("num-cpus") == "0", "the head must not run tasks"
    _containers(head)
    groups = cluster["workerGroupSpecs"]
    names = [g["groupName"] for g in groups]
    assert len(set(names)) == len(names)
    gpu_groups = []
    for group in groups:
        _check_ray_start_params(group)
        assert 0 <= group["minReplicas"] <= group.get("replicas", group["minReplicas"]) <= group["maxReplicas"]
        limits = [c.get("resources", {}).get("limits", {}) for c in _containers(group)]
        if any("nvidia.com/gpu" in lim for lim in limits):
            gpu_groups.append(group)
            assert all(str(lim.get("nvidia.com/gpu", "0")).isdigit() for lim in limits)
    assert gpu_groups, "a worker group with nvidia.com/gpu limits"


def test_rayjob_s3_credentials_come_from_a_secret_on_every_container(rayjob):
    cluster = rayjob["spec"]["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:
        for container in _containers(group):
            env = {e["name"]: e for e in container.get("env", [])}
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                ref = env[key]["valueFrom"]["secretKeyRef"]
                assert ref["name"] and ref["key"] == key and not ref.get("optional", False)
                assert "value" not in env[key], "no credentials in the manifest"
