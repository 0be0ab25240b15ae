"""Every shell an analyst opens finds the image's Python, pip and jupyter first on PATH, in every
start mode: `docker exec`'s plain bash, login shells (`bash -l`, `sh -l`: Debian's /etc/profile
sets PATH anew for every user but root), Jupyter's terminal (a login shell; JupyterHub's
single-user server opens the same one), and `su - analyst`, which also starts from an empty
environment and gets the image's other settings back from /etc/profile.d/."""

from __future__ import annotations

import pytest
from start_modes import BY_NAME, MODES, StartMode, param, terminal_output

VENV = "/opt/venv/bin"
# which commands the shell finds, and that its python is the image's (pandas imports)
PROBE = (
    "echo PATH-FOUND $(for c in python pip jupyter python3; do command -v $c; done)"
    ' && python -c "import pandas, sys; print(\\"PREFIX\\", sys.prefix)"'
)
EXPECTED = f"PATH-FOUND {VENV}/python {VENV}/pip {VENV}/jupyter {VENV}/python3"
SHELLS = {"bash": "bash -c %s", "bash -l": "bash -lc %s", "sh -l": "sh -lc %s"}


def assert_finds_the_images_python(output: str) -> None:
    assert EXPECTED in output, output
    assert "PREFIX /opt/venv" in output, output


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shell", SHELLS)
def test_docker_exec_shell_finds_the_images_python_first(start_mode, mode: StartMode, shell):
    result = start_mode(mode).host.run(SHELLS[shell], PROBE)
    assert result.rc == 0, result.stdout + result.stderr
    assert_finds_the_images_python(result.stdout)


@pytest.mark.parametrize("mode", MODES)
def test_jupyters_terminal_finds_the_images_python_first(start_mode, mode: StartMode):
    assert_finds_the_images_python(terminal_output(start_mode(mode).container, PROBE))


@pytest.mark.parametrize("mode", [param(BY_NAME["default"])])
def test_su_login_shell_finds_the_images_python_and_its_environment(
    start_mode, mode: StartMode, docker_client, image_ref
):
    """`su - analyst` (from a root `docker exec`) clears the environment: the image's settings
    come back from /etc/profile.d/analysis-template.sh, equal to the image's ENV."""
    container = start_mode(mode).container
    run = container.container.exec_run(["su", "-", "analyst", "-c", PROBE + " && env"], user="root")
    output = run.output.decode()
    assert run.exit_code == 0, output
    assert_finds_the_images_python(output)
    shell_env = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    image_env = dict(
        item.split("=", 1) for item in docker_client.images.get(image_ref).attrs["Config"]["Env"]
    )
    lost = {
        name: value
        for name, value in image_env.items()
        if name != "PATH" and shell_env.get(name) != value
    }
    assert lost == {}, f"`su - analyst` lost the image's {lost}"
    assert shell_env["PATH"].split(":").index(VENV) < shell_env["PATH"].split(":").index("/usr/bin")
