"""A zero-to-jupyterhub `values.yaml`, read the way the chart's hub reads it, into KubeSpawner:
the `singleuser` keys the example in docs/zero-to-jupyterhub/ uses map to KubeSpawner traits as
the chart's jupyterhub_config.py maps them, and `hub.config` passes traitlets configuration
through as the chart does. `pod_manifest` then asks the real KubeSpawner for the pod it would
create, with no cluster: what can be checked of a Kubernetes deployment on a host without one.

    python -m imagectl.z2jh docs/zero-to-jupyterhub/values.yaml   # the pod, as JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from imagectl.errors import ConfigError

# singleuser.<key> -> KubeSpawner trait, as the chart maps them (the subset the example uses)
_SINGLEUSER_TRAITS = {
    "uid": "uid",
    "fsGid": "fs_gid",
    "allowPrivilegeEscalation": "allow_privilege_escalation",
    "extraEnv": "environment",
    "extraPodConfig": "extra_pod_config",
    "extraContainerConfig": "extra_container_config",
    "defaultUrl": "default_url",
}
_STORAGE_KEYS = {"type", "capacity", "homeMountPath", "extraVolumes", "extraVolumeMounts"}
# the image by digest: name:<commit sha>@sha256:<64 hex> (the tag is for people, the digest
# is what the node pulls)
DIGEST_TAG = re.compile(r"^[0-9a-f]{40}@sha256:[0-9a-f]{64}$")


def load(path: Path) -> dict[str, Any]:
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path} cannot be read as YAML: {exc}", "fix the file") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path} holds no mapping", "start it with `singleuser:`")
    return values


def spawner_config(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{class: {trait: value}}: what the chart's hub configures from these values. A
    `singleuser` key this mapping does not know is refused (it would be silently ignored)."""
    singleuser = dict(values.get("singleuser") or {})
    kube: dict[str, Any] = {}
    image = singleuser.pop("image", {}) or {}
    if image.get("name"):
        kube["image"] = f"{image['name']}:{image['tag']}" if image.get("tag") else image["name"]
    if "cmd" in singleuser:
        cmd = singleuser.pop("cmd")
        kube["cmd"] = [cmd] if isinstance(cmd, str) else list(cmd)
    storage = singleuser.pop("storage", {}) or {}
    unknown = set(storage) - _STORAGE_KEYS
    if storage.get("type", "dynamic") == "dynamic" and storage.get("homeMountPath"):
        claim = {"claimName": "claim-{username}"}
        kube["volumes"] = [{"name": "home", "persistentVolumeClaim": claim}]
        kube["volume_mounts"] = [{"name": "home", "mountPath": storage["homeMountPath"]}]
    kube["volumes"] = kube.get("volumes", []) + list(storage.get("extraVolumes", []))
    kube["volume_mounts"] = kube.get("volume_mounts", []) + list(
        storage.get("extraVolumeMounts", [])
    )
    for key, trait in _SINGLEUSER_TRAITS.items():
        if key in singleuser:
            kube[trait] = singleuser.pop(key)
    unknown |= {f"singleuser.{key}" for key in singleuser}
    if unknown:
        raise ConfigError(
            f"values this check does not map to KubeSpawner: {', '.join(sorted(unknown))}",
            "map them in imagectl/z2jh.py as the chart's jupyterhub_config.py does",
        )
    config: dict[str, dict[str, Any]] = {"KubeSpawner": kube}
    for cls, traits in ((values.get("hub") or {}).get("config") or {}).items():
        config.setdefault(cls, {}).update(traits)
    return config


def pod_manifest(values: dict[str, Any], user: str = "alice") -> dict[str, Any]:
    """The pod KubeSpawner makes for `user` from `values`, as Kubernetes JSON (camelCase).
    KubeSpawner loads a client configuration when created; a throwaway kubeconfig naming an
    unreachable API server stands in, and nothing asks it anything."""
    with tempfile.TemporaryDirectory() as scratch:
        kubeconfig = Path(scratch) / "kubeconfig"
        kubeconfig.write_text(_KUBECONFIG)
        os.environ["KUBECONFIG"] = str(kubeconfig)  # read when kubernetes_asyncio is imported
        from jupyterhub import orm
        from kubernetes_asyncio.config import kube_config

        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(kubeconfig)  # if it was imported before
        from jupyterhub.objects import Hub
        from jupyterhub.user import User
        from kubernetes_asyncio.client import ApiClient
        from kubespawner import KubeSpawner
        from traitlets.config import Config

        config = Config(spawner_config(values))
        db = orm.new_session_factory("sqlite://")()
        record = orm.User(name=user)
        db.add(record)
        db.commit()
        settings = {
            "spawner_class": KubeSpawner,
            "config": config,
            "hub": Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
            "db": db,
            "domain": "",
            "statsd": None,
        }

        async def build() -> dict[str, Any]:
            pod = await User(record, settings).spawner.get_pod_manifest()
            return ApiClient().sanitize_for_serialization(pod)

        return asyncio.run(build())


_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def main() -> None:
    print(json.dumps(pod_manifest(load(Path(sys.argv[1]))), indent=2))


if __name__ == "__main__":
    main()
