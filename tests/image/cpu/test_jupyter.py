"""`docker run IMAGE` gives a healthy JupyterLab that wants the run-time token."""

import json
import re
from pathlib import Path

import pytest
from start_modes import run_in_kernel

from imagectl.platforms import Platform

NOTEBOOK = Path(__file__).parent / "notebooks" / "japanese_plot.ipynb"


def test_healthcheck_turns_healthy(jupyter) -> None:
    jupyter.container.reload()
    assert jupyter.container.attrs["State"]["Health"]["Status"] == "healthy"
    assert "8888/api" in " ".join(jupyter.container.attrs["Config"]["Healthcheck"]["Test"])


def test_jupyter_api_answers_with_the_token(jupyter) -> None:
    code, body = jupyter.api("/api/status", token=jupyter.token)
    assert code == 200, body
    code, body = jupyter.api("/api/contents", token=jupyter.token)
    assert code == 200 and json.loads(body)["type"] == "directory"


def test_jupyter_refuses_requests_without_the_right_token(jupyter) -> None:
    # /api itself only tells the server version, by Jupyter's design; everything else is guarded
    for path in ("/api/status", "/api/contents", "/api/kernels"):
        assert jupyter.api(path)[0] == 403, path
        assert jupyter.api(path, token="wrong")[0] == 403, path


def test_jupyterlab_is_the_default_command(jupyter) -> None:
    code, body = jupyter.api("/lab", token=jupyter.token)
    assert code == 200 and "JupyterLab" in body


def test_server_log_has_no_warning_or_error_at_start(jupyter) -> None:
    bad = [
        line
        for line in jupyter.startup_log.splitlines()
        if re.match(r"\[(W|E|C) ", line) or re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)
    ]
    assert bad == [], "\n".join(bad)


@pytest.mark.same_on_every_platform  # a Lab extension: JavaScript and Python only
def test_vim_key_bindings_extension_is_installed_and_enabled(host) -> None:
    # the extension loads; its key bindings are off until turned on (test_quiet_defaults.py)
    listing = host.check_output("jupyter labextension list 2>&1")
    assert re.search(r"@axlair/jupyterlab_vim .*enabled.*OK", listing), listing


def test_a_kernel_that_jupyter_starts_runs_code_on_the_images_own_platform(
    jupyter, platform: Platform
) -> None:
    # ipykernel and pyzmq's native code on the image's platform: under QEMU this is the
    # kernel's check, the notebook below being the same Python on every platform
    (cell,) = run_in_kernel(jupyter, "import platform; print(platform.machine())")
    assert cell["errors"] == [] and cell["stderr"] == "", cell
    assert cell["stdout"].strip() == platform.machine


# a whole notebook (imports, a DataFrame, a model, a Japanese plot): the same Python on every
# platform, whose parts another platform's run checks one by one (imports, the plot, a kernel);
# under QEMU it took 3.5 minutes
@pytest.mark.same_on_every_platform
def test_japanese_notebook_executes_headless_and_draws_its_plot(host, jupyter) -> None:
    jupyter.put_file(NOTEBOOK, "/tmp/nb/japanese_plot.ipynb")
    result = host.run(
        "cd /tmp/nb && jupyter nbconvert --to notebook --execute --output done.ipynb "
        "japanese_plot.ipynb"
    )
    assert result.rc == 0, result.stderr
    executed = json.loads(host.file("/tmp/nb/done.ipynb").content_string)
    outputs = [o for cell in executed["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    pngs = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1 and len(pngs[0]) > 10_000
