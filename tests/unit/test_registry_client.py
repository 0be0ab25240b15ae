"""The registry client without a real registry: references, credentials from the environment,
auth challenges, and the Basic and Bearer logins against a fake registry on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from imagectl import registry
from imagectl.errors import RegistryError

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": registry.MANIFEST_V2,
        "config": {"digest": "sha256:" + "c" * 64, "size": 1},
        "layers": [{"digest": "sha256:" + "a" * 64, "size": 42}],
    }
).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
ARM64_DIGEST = "sha256:" + "e" * 64
INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": registry.MANIFEST_LIST,
        "manifests": [
            {"mediaType": registry.MANIFEST_V2, "size": len(MANIFEST), "digest": MANIFEST_DIGEST,
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": registry.MANIFEST_V2, "size": 9, "digest": ARM64_DIGEST,
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": registry.OCI_MANIFEST, "size": 9, "digest": "sha256:" + "f" * 64,
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        ],
    }
).encode()  # fmt: skip


def test_bearer_challenge_keeps_commas_inside_quoted_values() -> None:
    header = (
        'Bearer realm="https://gitlab.example.com/jwt/auth",service="container_registry",'
        'scope="repository:group/images/cpu:pull,push"'
    )
    assert registry.parse_challenge(header) == (
        "bearer",
        {
            "realm": "https://gitlab.example.com/jwt/auth",
            "service": "container_registry",
            "scope": "repository:group/images/cpu:pull,push",
        },
    )


def test_basic_challenge_is_recognised() -> None:
    assert registry.parse_challenge('Basic realm="analysis-template"') == (
        "basic",
        {"realm": "analysis-template"},
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"CI_JOB_TOKEN": "tok"}, ("gitlab-ci-token", "tok")),
        ({"CI_REGISTRY_USER": "u", "CI_REGISTRY_PASSWORD": "p", "CI_JOB_TOKEN": "t"}, ("u", "p")),
        ({"REGISTRY_USER": "me", "REGISTRY_PASSWORD": "pw", "CI_JOB_TOKEN": "t"}, ("me", "pw")),
        ({"CI_REGISTRY_USER": "u"}, None),
    ],
)
def test_credentials_come_from_the_environment_generic_first_then_gitlab(
    env: dict[str, str], expected: tuple[str, str] | None
) -> None:
    found = registry.credentials_from_env(env)
    assert (found and (found.username, found.password)) == expected


@pytest.mark.parametrize(
    ("text", "host", "repository", "tag", "digest"),
    [
        ("127.0.0.1:5000/analysis-template/cpu:" + "a" * 40, "127.0.0.1:5000",
         "analysis-template/cpu", "a" * 40, None),
        ("registry.example.com/g/p/cpu@sha256:" + "b" * 64, "registry.example.com",
         "g/p/cpu", None, "sha256:" + "b" * 64),
        ("localhost/cpu", "localhost", "cpu", None, None),
    ],
)  # fmt: skip
def test_references_split_into_host_repository_tag_and_digest(
    text: str, host: str, repository: str, tag: str | None, digest: str | None
) -> None:
    assert registry.parse_reference(text) == registry.Reference(host, repository, tag, digest)


def test_a_reference_without_registry_host_is_refused_with_the_form_to_use() -> None:
    with pytest.raises(RegistryError, match="names no registry host") as caught:
        registry.parse_reference("local/debian-minbase:trixie")
    assert "HOST[:PORT]/PATH/NAME:TAG" in caught.value.hint


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1:5000", True), ("127.0.0.9", True), ("localhost:5000", True),
     ("[::1]:5000", True), ("registry.example.com", False), ("10.0.0.1:5000", False)],
)  # fmt: skip
def test_only_loopback_registries_are_spoken_to_over_plain_http(host: str, loopback: bool) -> None:
    assert registry.is_loopback(host) is loopback
    assert registry.RegistryClient(host).base.startswith("http://" if loopback else "https://")


class FakeRegistry(BaseHTTPRequestHandler):
    """Serves one manifest behind Basic or Bearer auth; records the scopes asked for."""

    scheme = "bearer"
    user, password, token = "gitlab-ci-token", "s3cret", "the-token"
    scopes: list[str] = []
    puts: list[bytes] = []
    accepts: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def _basic_ok(self) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}"

    def _authorized(self) -> bool:
        if self.scheme == "basic":
            return self._basic_ok()
        return self.headers.get("Authorization") == f"Bearer {self.token}"

    def _challenge(self) -> None:
        self.send_response(401)
        port = self.server.server_address[1]
        if self.scheme == "basic":
            value = 'Basic realm="fake"'
        else:
            value = f'Bearer realm="http://127.0.0.1:{port}/jwt/auth",service="fake"'
        self.send_header("WWW-Authenticate", value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/jwt/auth":
            self.scopes.append(parse_qs(url.query)["scope"][0])
            ok = self._basic_ok()
            body = json.dumps({"token": self.token}).encode() if ok else b"{}"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self._authorized():
            return self._challenge()
        self.accepts.append(self.headers.get("Accept", ""))
        # like the distribution registry: an index only to a client that accepts one, else the
        # image of the platform it picks
        index = url.path.endswith("/manifests/multi") and registry.MANIFEST_LIST in self.accepts[-1]
        found = url.path.endswith(("/manifests/v1", "/manifests/multi", MANIFEST_DIGEST))
        body = (INDEX if index else MANIFEST) if found else b'{"errors":[{"code":"UNKNOWN"}]}'
        media_type = registry.MANIFEST_LIST if index else registry.MANIFEST_V2
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", media_type if found else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        if not self._authorized():
            return self._challenge()
        self.puts.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(params=["basic", "bearer"])
def fake(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type(
        "Handler",
        (FakeRegistry,),
        {"scheme": request.param, "scopes": [], "puts": [], "accepts": []},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.handler = handler  # type: ignore[attr-defined]
    try:
        yield server  # type: ignore[misc]
    finally:
        server.shutdown()


def _client(server, password: str = "s3cret") -> registry.RegistryClient:
    host = f"127.0.0.1:{server.server_address[1]}"
    return registry.RegistryClient(host, registry.Credentials("gitlab-ci-token", password))


def test_manifest_is_read_after_logging_in_as_the_challenge_asks(fake) -> None:
    manifest = _client(fake).manifest("g/cpu", "v1")
    assert manifest is not None
    assert manifest.config_digest == "sha256:" + "c" * 64
    assert manifest.layers == [("sha256:" + "a" * 64, 42)]
    assert manifest.digest.startswith("sha256:")


def test_an_index_is_read_as_one_over_its_platforms_since_accept_names_both_index_types(
    fake,
) -> None:
    index = _client(fake).manifest("g/cpu", "multi")
    assert index is not None and index.is_index
    assert index.media_type == registry.MANIFEST_LIST
    assert index.platforms == ["linux/amd64", "linux/arm64"]  # the attestation is no platform
    assert index.child("linux/arm64").digest == ARM64_DIGEST
    assert index.config_digest is None and index.layers == []
    accept = fake.handler.accepts[-1]
    assert registry.MANIFEST_LIST in accept and registry.OCI_INDEX in accept
    assert registry.MANIFEST_V2 in accept and registry.OCI_MANIFEST in accept


def test_one_platforms_manifest_of_an_index_is_its_entry_and_a_missing_one_names_the_others(
    fake,
) -> None:
    client = _client(fake)
    amd64 = client.platform_manifest("g/cpu", "multi", "linux/amd64")
    assert amd64.digest == MANIFEST_DIGEST and amd64.config_digest == "sha256:" + "c" * 64
    single = client.platform_manifest("g/cpu", "v1", "linux/arm64")  # one image: itself
    assert single.digest == MANIFEST_DIGEST
    with pytest.raises(RegistryError, match="has no linux/s390x image") as caught:
        client.platform_manifest("g/cpu", "multi", "linux/s390x")
    assert "it has linux/amd64, linux/arm64" in str(caught.value)
    assert "--platform" in caught.value.hint


def test_a_manifest_list_over_docker_manifests_names_each_platform_and_is_reproducible() -> None:
    amd64 = registry.Manifest(MANIFEST, registry.MANIFEST_V2, MANIFEST_DIGEST)
    arm64 = registry.Manifest(b"{}", registry.MANIFEST_V2, ARM64_DIGEST)
    made = registry.manifest_list([(amd64, "linux/amd64"), (arm64, "linux/arm64")])
    assert made.media_type == registry.MANIFEST_LIST and made.is_index
    assert made.body["mediaType"] == registry.MANIFEST_LIST
    assert [(c.digest, c.size, c.platform) for c in made.children] == [
        (MANIFEST_DIGEST, len(MANIFEST), "linux/amd64"),
        (ARM64_DIGEST, 2, "linux/arm64"),
    ]
    assert made.digest == "sha256:" + hashlib.sha256(made.raw).hexdigest()
    assert registry.manifest_list([(amd64, "linux/amd64"), (arm64, "linux/arm64")]) == made
    oci = registry.Manifest(b"{}", registry.OCI_MANIFEST, ARM64_DIGEST)
    assert registry.manifest_list([(oci, "linux/arm64")]).media_type == registry.OCI_INDEX


def test_a_missing_tag_is_none_not_an_error(fake) -> None:
    assert _client(fake).manifest("g/cpu", "nope") is None


def test_bearer_tokens_are_asked_for_the_scope_each_request_needs(fake) -> None:
    client = _client(fake)
    manifest = client.manifest("g/cpu", "v1")
    assert manifest is not None
    client.put_manifest("g/cpu", "latest", manifest)
    assert fake.handler.puts == [MANIFEST]  # byte for byte, so the digest stays
    if fake.handler.scheme == "bearer":
        assert fake.handler.scopes == ["repository:g/cpu:pull", "repository:g/cpu:pull,push"]


def test_wrong_credentials_are_refused_naming_the_user(fake) -> None:
    with pytest.raises(RegistryError, match="refused") as caught:
        _client(fake, password="wrong").manifest("g/cpu", "v1")
    assert "refused the credentials of 'gitlab-ci-token'" in str(caught.value)
    assert "check the user, password or token" in caught.value.hint


def test_no_credentials_says_which_variables_to_set(fake) -> None:
    host = f"127.0.0.1:{fake.server_address[1]}"
    with pytest.raises(RegistryError, match="asks for a login") as caught:
        registry.RegistryClient(host).manifest("g/cpu", "v1")
    assert "CI_JOB_TOKEN" in caught.value.hint


def test_an_unreachable_registry_is_named_with_the_fix() -> None:
    with pytest.raises(RegistryError, match="cannot be reached") as caught:
        registry.RegistryClient("127.0.0.1:9").manifest("g/cpu", "v1")
    assert "make registry" in caught.value.hint


def test_cli_login_lives_in_a_temporary_docker_config_removed_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    credentials = registry.Credentials("gitlab-ci-token", "s3cret")
    with registry.cli_login("registry.example.com", credentials) as env:
        config_dir = Path(env["DOCKER_CONFIG"])
        auths = json.loads((config_dir / "config.json").read_text())["auths"]
        assert base64.b64decode(auths["registry.example.com"]["auth"]) == b"gitlab-ci-token:s3cret"
        assert (config_dir / "config.json").stat().st_mode & 0o077 == 0
    assert not config_dir.exists()
    assert not (tmp_path / ".docker").exists()


def test_cli_login_without_credentials_changes_nothing() -> None:
    with registry.cli_login("registry.example.com", None) as env:
        assert env == {}
