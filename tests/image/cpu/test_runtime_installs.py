"""Installing a package at run time works, as an analyst does it: `pip install` in Jupyter's
terminal and `%pip install` in a running kernel, in every start mode. The package goes to the
user's site (~/.local, or /tmp/analyst/.local where the home is not writable), imports at once
in the same kernel, its command is on PATH, and `pip list` shows it beside the image's packages.
An install never replaces a package the image pins (PIP_CONSTRAINT), and says how to override
that; with the home on a volume, installs outlive the container, also for another UID.

The packages are tiny wheels made here (the containers have no network)."""

from __future__ import annotations

import base64
import json
import os
import uuid

import pytest
import testinfra
from start_modes import BY_NAME, MODES, StartMode, param, run_in_kernel, terminal_output
from support import Container, wheel_bytes

# The same on every platform (pip's user site, the constraints, the site hooks: pure Python):
# another platform's image, run under QEMU, skips these.
pytestmark = pytest.mark.same_on_every_platform

PYTHON = "python3.13"


def make_wheel(name: str, version: str, requires: tuple[str, ...] = (), command: str = "") -> bytes:
    """A pure-Python wheel of module `name` (VERSION = version), with `command` printing
    "hello from <name>" when given."""
    source = f"VERSION = {version!r}\n\ndef main():\n    print('hello from {name}')\n"
    scripts = {command: f"{name}:main"} if command else None
    return wheel_bytes(name, version, requires, source, scripts)


def put_wheel(host, name: str, version: str, *requires: str, command: str = "") -> str:
    """The wheel's path in the container, under /tmp/wheels (written through the shell: docker
    cp cannot write to a read-only root or a tmpfs)."""
    path = f"/tmp/wheels/{name}-{version}-py3-none-any.whl"
    data = base64.b64encode(make_wheel(name, version, requires, command)).decode()
    host.check_output("mkdir -p /tmp/wheels && printf %%s %s | base64 -d > %s", data, path)
    return path


def as_analyst(started):
    """Commands as the notebook user (NB_UID's container runs `docker exec` as root)."""
    if started.mode.options.get("user") == "root":
        return testinfra.get_host(f"docker://analyst@{started.container.container.id}")
    return started.host


def user_site(mode: StartMode) -> str:
    return f"{mode.scratch}/.local/lib/{PYTHON}/site-packages"


@pytest.mark.parametrize("mode", MODES)
def test_pip_install_in_jupyters_terminal_goes_to_the_users_site(start_mode, mode: StartMode):
    started = start_mode(mode)
    wheel = put_wheel(started.host, "terminaldemo", "1.0", command="terminaldemo-hello")
    screen = terminal_output(
        started.container,
        f"pip install --no-index {wheel}; terminaldemo-hello"
        "; python -c 'import terminaldemo; print(\"AT\", terminaldemo.__file__)'"
        "; pip list | grep -E '^(terminaldemo|numpy) '",
    )
    assert "Successfully installed terminaldemo-1.0" in screen, screen
    # Docker mounts `--tmpfs /tmp` noexec: commands installed under /tmp/analyst (read-only
    # root) need `--tmpfs /tmp:exec`, as the README says
    if "/tmp" not in mode.options.get("tmpfs", {}):
        assert "hello from terminaldemo" in screen, f"its command is not on PATH: {screen}"
    assert f"AT {user_site(mode)}/terminaldemo/__init__.py" in screen, screen
    listed = {line.split()[0] for line in screen.splitlines() if line[:1].isalpha()}
    assert {"terminaldemo", "numpy"} <= listed, f"pip list lacks one: {screen}"
    assert "ERROR" not in screen and "WARNING" not in screen, screen
    owner = as_analyst(started).file(f"{user_site(mode)}/terminaldemo")
    assert owner.uid == mode.uid


@pytest.mark.parametrize("mode", MODES)
def test_percent_pip_install_imports_at_once_in_the_running_kernel(start_mode, mode: StartMode):
    started = start_mode(mode)
    wheel = put_wheel(started.host, "kerneldemo", "1.0")
    imported, installed, used = run_in_kernel(
        started.container,
        "import numpy, pandas",
        f"%pip install --no-index {wheel}",
        "import kerneldemo; print('AT', kerneldemo.__file__, kerneldemo.VERSION)",
    )
    assert imported["errors"] == [] and installed["errors"] == [], (imported, installed)
    assert "Successfully installed kerneldemo-1.0" in installed["stdout"], installed
    assert "restart the kernel" not in installed["stdout"], installed
    noise = [line for line in installed["stderr"].splitlines() if line.strip()]
    assert noise == [], f"%pip printed to stderr: {noise}"
    assert used["errors"] == [], used
    assert f"AT {user_site(mode)}/kerneldemo/__init__.py 1.0" in used["stdout"], used


@pytest.mark.parametrize("mode", [param(BY_NAME["default"])])
def test_percent_pip_asks_for_a_restart_only_for_a_package_the_kernel_imported(
    start_mode, mode: StartMode
):
    host = start_mode(mode).host
    first, second = put_wheel(host, "bumpdemo", "1.0"), put_wheel(host, "bumpdemo", "2.0")
    fresh = put_wheel(host, "freshdemo", "1.0")
    cells = run_in_kernel(
        start_mode(mode).container,
        f"%pip install --no-index {first}",
        "import bumpdemo",
        f"%pip install --no-index {second}",
        f"%pip install --no-index {fresh}",
    )
    assert [cell["errors"] for cell in cells] == [[]] * 4, cells
    assert "restart" not in cells[0]["stdout"] + cells[3]["stdout"], cells
    assert "restart the kernel to use the new bumpdemo" in cells[2]["stdout"], cells[2]


@pytest.mark.parametrize("mode", [param(BY_NAME["default"])])
def test_an_install_never_replaces_a_pinned_package_and_names_the_override(
    start_mode, mode: StartMode, locked_versions
):
    host = start_mode(mode).host
    pinned = f"tqdm=={locked_versions['tqdm']}"
    newer = put_wheel(host, "tqdm", "99.0")
    put_wheel(host, "needsnewtqdm", "1.0", "tqdm>=99")
    for request in (newer, "--find-links /tmp/wheels needsnewtqdm"):
        refused = host.run(f"pip install --no-index {request}")
        assert refused.rc != 0, refused.stdout
        assert pinned in refused.stderr and "PIP_CONSTRAINT= pip install" in refused.stderr, (
            refused.stderr
        )
    assert host.check_output("python -c 'import tqdm; print(tqdm.__version__)'") == pinned[6:]
    # the override the message names: another version in a folder of the user's, put first
    override = host.run(f"PIP_CONSTRAINT= pip install --no-index --target ~/overrides {newer}")
    assert override.rc == 0, override.stderr
    first = "import os, sys; sys.path.insert(0, os.path.expanduser('~/overrides')); "
    assert host.check_output("python -c %s", first + "import tqdm; print(tqdm.VERSION)") == "99.0"
    assert host.check_output("python -c 'import tqdm; print(tqdm.__version__)'") == pinned[6:]


@pytest.mark.parametrize("mode", [param(BY_NAME["default"])])
def test_pip_install_user_is_accepted_too(start_mode, mode: StartMode):
    """`--user`, which a venv refuses unless it sees the user site, means the same here."""
    host = start_mode(mode).host
    result = host.run(f"pip install --user --no-index {put_wheel(host, 'userdemo', '1.0')}")
    assert result.rc == 0, result.stderr
    assert host.check_output("python -c 'import userdemo; print(userdemo.__file__)'") == (
        f"{user_site(mode)}/userdemo/__init__.py"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the volume's check")
def test_installs_on_a_home_volume_persist_also_for_another_uid_of_the_notebook_group(
    docker_client, image_ref
):
    """A read-only root with the home on a volume installs there; a later container on the same
    volume, docker-stacks' way with another UID (`--user N --group-add users`), imports it and
    installs more."""
    volume = docker_client.volumes.create(f"analysis-home-test-{uuid.uuid4().hex[:8]}")
    home = {volume.name: {"bind": "/home/analyst", "mode": "rw"}}
    try:
        first = Container(
            docker_client, image_ref, read_only=True, tmpfs={"/tmp": ""}, volumes=home
        )
        try:
            first.wait_healthy()
            wheel = put_wheel(first.host, "keptdemo", "1.0")
            (installed,) = run_in_kernel(first, f"%pip install --no-index {wheel}")
            assert "Successfully installed keptdemo-1.0" in installed["stdout"], installed
        finally:
            first.remove()
        second = Container(
            docker_client, image_ref, user="12345:12345", group_add=["users"], volumes=home
        )
        try:
            second.wait_healthy()
            wheel = put_wheel(second.host, "moredemo", "1.0")
            more, used = run_in_kernel(
                second,
                f"%pip install --no-index {wheel}",
                "import keptdemo, moredemo; print('AT', keptdemo.__file__, moredemo.__file__)",
            )
            assert more["errors"] == [] and used["errors"] == [], (more, used)
            site = f"/home/analyst/.local/lib/{PYTHON}/site-packages"
            assert (
                f"AT {site}/keptdemo/__init__.py {site}/moredemo/__init__.py" in used["stdout"]
            ), json.dumps(used)
        finally:
            second.remove()
    finally:
        volume.remove(force=True)
