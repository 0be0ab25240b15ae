"""The zero-to-jupyterhub example (docs/zero-to-jupyterhub/values.yaml), loaded as the chart's
hub loads it into the real KubeSpawner, gives a pod that runs the image pinned by digest as
analyst with the notebook group, a read-only root, no capabilities and a writable /tmp. (No
cluster here: KubeSpawner builds the pod it would create; imagectl.z2jh says how.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from imagectl import z2jh
from imagectl.errors import ConfigError

VALUES = ROOT / "docs" / "zero-to-jupyterhub" / "values.yaml"


@pytest.fixture(scope="module")
def pod() -> dict:
    """The pod manifest, from `python -m imagectl.z2jh` (a process of its own: KubeSpawner
    loads a Kubernetes client configuration when it is created)."""
    made = subprocess.run(
        [sys.executable, "-m", "imagectl.z2jh", str(VALUES)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    return json.loads(made.stdout)


def test_values_pin_the_image_by_digest(pod: dict) -> None:
    image = z2jh.load(VALUES)["singleuser"]["image"]
    assert z2jh.DIGEST_TAG.match(image["tag"]), image["tag"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == f"{image['name']}:{image['tag']}"
    assert "@sha256:" in container["image"]


def test_pod_runs_the_single_user_server_through_the_images_entrypoint(pod: dict) -> None:
    (container,) = pod["spec"]["containers"]
    assert "command" not in container  # the image's tini and start.sh stay
    assert container["args"][0] == "jupyterhub-singleuser"


def test_pod_runs_as_analyst_with_the_notebook_group_read_only_and_without_capabilities(
    pod: dict,
) -> None:
    (container,) = pod["spec"]["containers"]
    context = container["securityContext"]
    assert context["runAsUser"] == 1000
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True
    # fsGid survives the container context (extraPodConfig's securityContext would replace it)
    assert pod["spec"]["securityContext"]["fsGroup"] == 100


def test_pod_mounts_the_users_volume_at_the_work_dir_and_a_writable_tmp(pod: dict) -> None:
    (container,) = pod["spec"]["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts) >= {"/home/analyst/work", "/tmp"}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert "persistentVolumeClaim" in volumes[mounts["/home/analyst/work"]]
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_a_values_key_the_check_cannot_map_is_named(tmp_path: Path) -> None:
    values = z2jh.load(VALUES)
    values["singleuser"]["networkPolicy"] = {"enabled": True}
    with pytest.raises(ConfigError) as refused:
        z2jh.spawner_config(values)
    assert "singleuser.networkPolicy" in str(refused.value)
