"""Nothing secret in the image: no token, password or private key in its metadata, history or
files, and the build host's CA bundle (a build secret) in none of its layers."""

import hashlib
import io
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagectl import host

SECRET_ASSIGNMENT = re.compile(
    r"(token|passw(or)?d|secret|api[_-]?key|credential)[A-Z_]*\s*[=:]\s*\S+", re.IGNORECASE
)
PRIVATE_KEY = "-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"
# A package's own public test fixtures (tornado ships a self-signed test key): not ours, no secret.
THIRD_PARTY_TEST_DATA = re.compile(r"/site-packages/[^/]+/tests?/")


def test_labels_and_environment_hold_no_secret(docker_client, image_ref) -> None:
    config = docker_client.images.get(image_ref).attrs["Config"]
    found = [e for e in config["Env"] if SECRET_ASSIGNMENT.search(e) or "PRIVATE KEY" in e]
    found += [f"{k}={v}" for k, v in (config["Labels"] or {}).items()
              if SECRET_ASSIGNMENT.search(f"{k}={v}") or "PRIVATE KEY" in v]  # fmt: skip
    assert found == []


def test_build_history_holds_no_secret(docker_client, image_ref) -> None:
    steps = [step["CreatedBy"] for step in docker_client.api.history(image_ref)]
    found = [s for s in steps if SECRET_ASSIGNMENT.search(s) or "PRIVATE KEY" in s]
    assert found == [], "\n".join(found)


def test_no_private_key_in_the_filesystem(root_host) -> None:
    # -I skips binaries, which merely contain the marker as a string
    listed = root_host.run(
        "grep -rlIE %s / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev", PRIVATE_KEY
    ).stdout.split()
    assert [path for path in listed if not THIRD_PARTY_TEST_DATA.search(path)] == []


def pem_blocks(text: str) -> set[str]:
    return set(re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S))


def layer_files(
    docker_client, image_ref: str, max_size: int = 5_000_000
) -> Iterator[tuple[str, bytes]]:
    """(layer:path, content) of every regular file of every layer of the image, up to
    `max_size` (a PEM bundle is a small text file; what is larger is compiled code).

    On a local overlay2 engine each layer's diff directory is exactly what its tarball holds,
    and reading it takes seconds where `docker save` of 2 GB takes a minute; elsewhere, save.
    """
    driver = docker_client.images.get(image_ref).attrs["GraphDriver"]
    data = driver.get("Data") or {}
    diffs = [data.get("UpperDir"), *(data.get("LowerDir") or "").split(":")]
    diffs = [Path(d) for d in diffs if d]
    if driver["Name"] == "overlay2" and diffs and all(os.access(d, os.R_OK) for d in diffs):
        for diff in diffs:
            for path in diff.rglob("*"):
                if path.is_file() and not path.is_symlink() and path.stat().st_size <= max_size:
                    yield f"{diff.parent.name}:{path.relative_to(diff)}", path.read_bytes()
        return
    stream = io.BufferedReader(_Chunks(docker_client.images.get(image_ref).save(named=True)))
    with tarfile.open(fileobj=stream, mode="r|") as image:
        for member in image:
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=image.extractfile(member), mode="r|") as layer:
                    for entry in layer:
                        if entry.isfile() and entry.size <= max_size:
                            yield f"{member.name}:{entry.name}", layer.extractfile(entry).read()


class _Chunks(io.RawIOBase):
    """A file object over docker-py's chunk generator, for streaming tarfile reads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.rest = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.rest:
            self.rest = next(self.chunks, b"")
            if not self.rest:
                return 0
        size = min(len(buffer), len(self.rest))
        buffer[:size], self.rest = self.rest[:size], self.rest[size:]
        return size


def test_build_hosts_ca_bundle_is_in_no_layer(docker_client, image_ref, root_host) -> None:
    ca = host.ca_bundle()
    if ca is None:
        pytest.skip("this host has no CA bundle, so no build used one")
    host_bundle = ca.read_bytes()
    # The certificates the host trusts beyond Debian's own (a TLS proxy's CA) must not appear;
    # Debian's ca-certificates package legitimately brings the rest.
    image_bundle = root_host.file("/etc/ssl/certs/ca-certificates.crt").content_string
    extra = pem_blocks(host_bundle.decode()) - pem_blocks(image_bundle)
    markers = [block.splitlines()[len(block.splitlines()) // 2].encode() for block in extra]
    bundle_digest = hashlib.sha256(host_bundle).hexdigest()
    leaks, files = [], 0
    for where, data in layer_files(docker_client, image_ref):
        files += 1
        if any(m in data for m in markers) or (
            len(data) == len(host_bundle) and hashlib.sha256(data).hexdigest() == bundle_digest
        ):
            leaks.append(where)
    assert files > 1000, "found no layer files to check"
    assert leaks == [], f"the build host's CA is in a layer: {leaks}"
