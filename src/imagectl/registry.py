"""A registry's HTTP API (distribution v2), as much as versioning needs: read a manifest by tag
or digest, write one under another tag. Logs in with Basic or Bearer auth, whichever the
registry's `WWW-Authenticate` challenge asks for, with credentials from the environment."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests

from imagectl import platforms
from imagectl.errors import RegistryError
from imagectl.host import ca_bundle

# Docker's schema2 and OCI single-image manifests, and the indexes over one image per platform
# (Docker's manifest list, OCI's image index). Without them in Accept a registry answers
# otherwise: schema1 (another digest than `docker push` printed) for an image, and for an index
# the one platform's manifest it picks itself.
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_TYPES = (MANIFEST_V2, OCI_MANIFEST)
INDEX_TYPES = (MANIFEST_LIST, OCI_INDEX)
ACCEPT = ", ".join((*IMAGE_TYPES, *INDEX_TYPES))
TIMEOUT_S = 30


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def auth_config(self) -> dict[str, str]:
        """The form docker-py's push and pull take (sent to the engine, never written down)."""
        return {"username": self.username, "password": self.password}


def credentials_from_env(env: dict[str, str] | None = None) -> Credentials | None:
    """REGISTRY_USER/REGISTRY_PASSWORD, else GitLab's CI_REGISTRY_USER/CI_REGISTRY_PASSWORD,
    else CI_JOB_TOKEN as the user `gitlab-ci-token`; None when none is set."""
    env = dict(os.environ) if env is None else env
    for user_key, password_key in (
        ("REGISTRY_USER", "REGISTRY_PASSWORD"),
        ("CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD"),
    ):
        if env.get(user_key) and env.get(password_key):
            return Credentials(env[user_key], env[password_key])
    if env.get("CI_JOB_TOKEN"):
        return Credentials("gitlab-ci-token", env["CI_JOB_TOKEN"])
    return None


@dataclass(frozen=True)
class Reference:
    """`host[:port]/path/name[:tag][@digest]`, split the way the engine splits it."""

    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What the API's /manifests/<reference> takes: the digest if given, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        return f"{text}@{self.digest}" if self.digest else text


def parse_reference(ref: str) -> Reference:
    name, _, digest = ref.partition("@")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    host, sep, repository = name.partition("/")
    if not sep or not ("." in host or ":" in host or host == "localhost"):
        raise RegistryError(
            f"{ref!r} names no registry host",
            "write it as HOST[:PORT]/PATH/NAME:TAG, e.g. 127.0.0.1:5000/analysis-template/cpu:SHA",
        )
    return Reference(host, repository, tag, digest or None)


def is_loopback(host: str) -> bool:
    """The engine trusts 127.0.0.0/8 without TLS; everything else is spoken to over HTTPS."""
    if host.startswith("["):  # [::1]:5000
        hostname = host[1:].split("]", 1)[0]
    else:
        hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="https://x/jwt",service="reg",scope="repository:a/b:pull,push"` ->
    ("bearer", {...}). Quoted values may hold commas, so this is not a split on ','."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        key.lower(): quoted if quoted or not bare else bare
        for key, quoted, bare in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', rest)
    }
    return scheme.lower(), params


@dataclass(frozen=True)
class Child:
    """One platform's image in an index: its manifest's digest, type and size, and its
    platform as `os/architecture` (`linux/arm64`; a variant such as v8 is left out)."""

    digest: str
    media_type: str
    size: int
    platform: str


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry stores it, of one image or an index over one image per
    platform; `raw` is what the digest covers."""

    raw: bytes
    media_type: str
    digest: str

    @property
    def body(self) -> dict:
        return json.loads(self.raw)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def children(self) -> list[Child]:
        """An index's images, in its order (none for a single image's manifest). Entries
        without a platform (attestations and the like) are no platform's image."""
        found = []
        for entry in self.body.get("manifests", []) if self.is_index else []:
            platform = entry.get("platform") or {}
            if platform.get("os") in (None, "", "unknown") or not platform.get("architecture"):
                continue  # no platform's image: an attestation (unknown/unknown) or the like
            name = f"{platform['os']}/{platform['architecture']}"
            found.append(Child(entry["digest"], entry["mediaType"], int(entry["size"]), name))
        return found

    @property
    def platforms(self) -> list[str]:
        return [child.platform for child in self.children]

    def child(self, platform: str) -> Child | None:
        return next((c for c in self.children if c.platform == platform), None)

    @property
    def config_digest(self) -> str | None:
        """The image config's digest: the same as the image ID the local engine shows."""
        return self.body.get("config", {}).get("digest")

    @property
    def layers(self) -> list[tuple[str, int]]:
        """(blob digest, compressed size) of each layer, bottom first."""
        return [(layer["digest"], int(layer["size"])) for layer in self.body.get("layers", [])]


def manifest_list(images: list[tuple[Manifest, str]]) -> Manifest:
    """An index over `images`, each (its manifest, its platform `os/architecture`), in the
    given order: what `docker pull` of the tag resolves to the puller's platform. A Docker
    manifest list over Docker schema2 manifests (what `docker push` writes), else an OCI
    index. The same images give the same bytes, so the same digest."""
    docker_v2 = all(image.media_type == MANIFEST_V2 for image, _ in images)
    media_type = MANIFEST_LIST if docker_v2 else OCI_INDEX
    body = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": image.media_type,
                "size": len(image.raw),
                "digest": image.digest,
                "platform": dict(zip(("os", "architecture"), platform.split("/", 1), strict=True)),
            }
            for image, platform in images
        ],
    }
    raw = json.dumps(body, indent=3).encode()
    return Manifest(raw, media_type, "sha256:" + hashlib.sha256(raw).hexdigest())


class RegistryClient:
    """One registry host. Tokens are fetched on the first 401 and reused per scope."""

    def __init__(self, host: str, credentials: Credentials | None = None) -> None:
        self.host = host
        self.credentials = credentials
        self.base = f"{'http' if is_loopback(host) else 'https'}://{host}"
        self._session = requests.Session()
        self._session.verify = _ca_bundle()
        self._auth: dict[str, str] = {}  # scope -> Authorization header value

    def ping(self) -> bool:
        """True when something answers /v2/ as a registry does (200, or 401 asking to log in)."""
        try:
            response = self._session.get(f"{self.base}/v2/", timeout=5)
        except requests.RequestException:
            return False
        return response.status_code in (200, 401)

    def manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest of a tag or digest (an image's, or an index's), or None when the
        registry has no such tag."""
        response = self._request("GET", repository, f"manifests/{reference}", "pull")
        if response.status_code == 404:
            return None
        self._check(response, f"reading {self.host}/{repository}:{reference}")
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        if media_type not in (*IMAGE_TYPES, *INDEX_TYPES):
            raise RegistryError(
                f"{self.host}/{repository}:{reference} is a {media_type or 'untyped'} manifest, "
                "neither an image's (Docker schema2, OCI) nor an index over platforms",
                "push it with this tool so it can be compared",
            )
        digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
        return Manifest(response.content, media_type, digest)

    def platform_manifest(
        self, repository: str, reference: str, platform: str | None = None
    ) -> Manifest | None:
        """The image manifest of one platform (default: this host's) that a tag or digest
        names: the index's entry for it, or the manifest itself when it is one image's.
        None when the registry has no such tag; an index without that platform is an error
        that lists the platforms it has."""
        manifest = self.manifest(repository, reference)
        if manifest is None or not manifest.is_index:
            return manifest
        wanted = platform or platforms.native().name
        child = manifest.child(wanted)
        if child is None:
            raise RegistryError(
                f"{self.host}/{repository}:{reference} has no {wanted} image: it has "
                f"{', '.join(manifest.platforms) or 'no platform images'}",
                f"choose one of those with --platform, or push a version built for {wanted}",
            )
        found = self.manifest(repository, child.digest)
        if found is None:
            raise RegistryError(
                f"{self.host}/{repository}:{reference} names {child.digest} for {wanted}, "
                "which the registry lacks",
                "the registry's storage is damaged: push the version again",
            )
        return found

    def image_config(
        self, repository: str, reference: str, platform: str | None = None
    ) -> dict | None:
        """The image config (labels, env, architecture, ...) a tag or digest points at, for
        `platform` (default: this host's) when it is an index, without pulling."""
        manifest = self.platform_manifest(repository, reference, platform)
        if manifest is None or manifest.config_digest is None:
            return None
        response = self._request("GET", repository, f"blobs/{manifest.config_digest}", "pull")
        self._check(response, f"reading the config of {self.host}/{repository}:{reference}")
        return response.json()

    def put_manifest(self, repository: str, reference: str, manifest: Manifest) -> str:
        """Store `manifest` (an image's or an index's) under `reference` byte for byte, so its
        digest stays the same. An index's images must be in the repository already."""
        response = self._request(
            "PUT",
            repository,
            f"manifests/{reference}",
            "pull,push",
            data=manifest.raw,
            content_type=manifest.media_type,
        )
        self._check(response, f"writing {self.host}/{repository}:{reference}")
        return response.headers.get("Docker-Content-Digest", manifest.digest)

    def blob(self, repository: str, digest: str) -> bytes | None:
        """A blob's bytes, checked against its digest; None when the registry lacks it."""
        response = self._request("GET", repository, f"blobs/{digest}", "pull")
        if response.status_code == 404:
            return None
        self._check(response, f"reading blob {digest} of {self.host}/{repository}")
        if "sha256:" + hashlib.sha256(response.content).hexdigest() != digest:
            raise RegistryError(
                f"blob {digest} of {self.host}/{repository} does not match its digest",
                "the registry's storage is damaged: push the version again",
            )
        return response.content

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload `data` as a blob (a monolithic upload) unless it is there; its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self._request("HEAD", repository, f"blobs/{digest}", "pull").status_code == 200:
            return digest
        started = self._request("POST", repository, "blobs/uploads/", "pull,push")
        self._check(started, f"starting an upload to {self.host}/{repository}")
        location = urljoin(f"{self.base}/", started.headers["Location"])
        separator = "&" if "?" in location else "?"
        done = self._request(
            "PUT",
            repository,
            f"{location}{separator}digest={digest}",
            "pull,push",
            data=data,
            content_type="application/octet-stream",
        )
        self._check(done, f"uploading blob {digest} to {self.host}/{repository}")
        return digest

    def _request(
        self,
        method: str,
        repository: str,
        path: str,
        actions: str,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> requests.Response:
        """`path` under /v2/<repository>/, or a whole URL (an upload's Location)."""
        scope = f"repository:{repository}:{actions}"
        url = path if "://" in path else f"{self.base}/v2/{repository}/{path}"
        headers = {"Accept": ACCEPT, **({"Content-Type": content_type} if content_type else {})}
        for attempt in range(2):
            if scope in self._auth:
                headers["Authorization"] = self._auth[scope]
            try:
                response = self._session.request(
                    method, url, headers=headers, data=data, timeout=TIMEOUT_S
                )
            except requests.ConnectionError as exc:
                raise RegistryError(
                    f"the registry at {self.base} cannot be reached ({_reason(exc)})",
                    "start the local one with `make registry`, or check REGISTRY_URL and the "
                    "network",
                ) from None
            except requests.RequestException as exc:
                raise RegistryError(
                    f"talking to the registry at {self.base} failed: {exc}", "retry"
                ) from None
            if response.status_code != 401 or attempt:
                return response
            self._auth[scope] = self._login(response.headers.get("WWW-Authenticate", ""), scope)
        return response

    def _login(self, challenge: str, scope: str) -> str:
        scheme, params = parse_challenge(challenge)
        if self.credentials is None:
            raise RegistryError(
                f"the registry at {self.host} asks for a login and no credentials are set",
                "set REGISTRY_USER and REGISTRY_PASSWORD (in GitLab CI: CI_REGISTRY_USER and "
                "CI_REGISTRY_PASSWORD, or CI_JOB_TOKEN)",
            )
        basic = (self.credentials.username, self.credentials.password)
        if scheme == "basic":
            token = base64.b64encode(":".join(basic).encode()).decode()
            return f"Basic {token}"
        if scheme != "bearer" or "realm" not in params:
            raise RegistryError(
                f"the registry at {self.host} asks for an unsupported login: {challenge!r}",
                "use a registry with Basic or Bearer token auth",
            )
        query = {"scope": scope, **({"service": params["service"]} if "service" in params else {})}
        try:
            response = self._session.get(
                params["realm"], params=query, auth=basic, timeout=TIMEOUT_S
            )
        except requests.RequestException as exc:
            raise RegistryError(
                f"the token service {params['realm']} cannot be reached ({_reason(exc)})",
                "check the network",
            ) from None
        if response.status_code in (401, 403):
            raise RegistryError(
                f"the registry at {self.host} refused the credentials of "
                f"{self.credentials.username!r} for {scope}",
                "check the user, password or token, and that it may push to this project",
            )
        self._check(response, f"getting a token from {params['realm']}")
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"{params['realm']} answered without a token", "retry")
        return f"Bearer {token}"

    def _check(self, response: requests.Response, what: str) -> None:
        if response.status_code < 300:
            return
        if response.status_code in (401, 403):
            who = (
                f"the credentials of {self.credentials.username!r}"
                if self.credentials
                else "access"
            )
            raise RegistryError(
                f"{what}: the registry refused {who} (HTTP {response.status_code})",
                "check the user, password or token, and that it may push to this repository",
            )
        raise RegistryError(
            f"{what}: HTTP {response.status_code} {response.text.strip()[:300]}",
            "read the registry's log for the reason",
        )


def _reason(exc: Exception) -> str:
    text = str(exc)
    return "connection refused" if "refused" in text.lower() else text[:200]


def _ca_bundle() -> str | bool:
    # A TLS-intercepting proxy is trusted through the host's store, not certifi's.
    bundle = ca_bundle()
    return str(bundle) if bundle else True


@contextlib.contextmanager
def cli_login(host: str, credentials: Credentials | None) -> Iterator[dict[str, str]]:
    """Environment for a docker CLI that must log in to `host` (a BuildKit build pulling a
    private parent): a throwaway DOCKER_CONFIG holding only this login, deleted afterwards,
    so ~/.docker/config.json never sees the credentials."""
    if credentials is None:
        yield {}
        return
    directory = Path(tempfile.mkdtemp(prefix="imagectl-docker-config-"))
    try:
        auth = base64.b64encode(f"{credentials.username}:{credentials.password}".encode())
        config = directory / "config.json"
        config.touch(mode=0o600)
        config.write_text(json.dumps({"auths": {host: {"auth": auth.decode()}}}))
        yield {"DOCKER_CONFIG": str(directory)}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
