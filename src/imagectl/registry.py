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

from imagectl.errors import RegistryError
from imagectl.host import ca_bundle

# Docker's schema2 and OCI single-image manifests. Without them in Accept a registry may answer
# with schema1, whose digest differs from the one `docker push` printed.
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = f"{MANIFEST_V2}, {OCI_MANIFEST}"
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
class Manifest:
    """A single-image manifest as the registry stores it; `raw` is what the digest covers."""

    raw: bytes
    media_type: str
    digest: str

    @property
    def body(self) -> dict:
        return json.loads(self.raw)

    @property
    def config_digest(self) -> str | None:
        """The image config's digest: the same as the image ID the local engine shows."""
        return self.body.get("config", {}).get("digest")

    @property
    def layers(self) -> list[tuple[str, int]]:
        """(blob digest, compressed size) of each layer, bottom first."""
        return [(layer["digest"], int(layer["size"])) for layer in self.body.get("layers", [])]


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
        """The manifest of a tag or digest, or None when the registry has no such tag."""
        response = self._request("GET", repository, f"manifests/{reference}", "pull")
        if response.status_code == 404:
            return None
        self._check(response, f"reading {self.host}/{repository}:{reference}")
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        if media_type not in (MANIFEST_V2, OCI_MANIFEST):
            raise RegistryError(
                f"{self.host}/{repository}:{reference} is a {media_type or 'untyped'} manifest, "
                "not a single-image one",
                "push it with this tool (a docker push of one platform) so it can be compared",
            )
        digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
        return Manifest(response.content, media_type, digest)

    def image_config(self, repository: str, reference: str) -> dict | None:
        """The image config (labels, env, ...) a tag or digest points at, without pulling."""
        manifest = self.manifest(repository, reference)
        if manifest is None or manifest.config_digest is None:
            return None
        response = self._request("GET", repository, f"blobs/{manifest.config_digest}", "pull")
        self._check(response, f"reading the config of {self.host}/{repository}:{reference}")
        return response.json()

    def put_manifest(self, repository: str, reference: str, manifest: Manifest) -> str:
        """Store `manifest` under `reference` byte for byte, so its digest stays the same."""
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
