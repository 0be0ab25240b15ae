"""A fresh JupyterLab is quiet: vim key bindings are installed but off (JUPYTERLAB_VIM=1 turns
them on for the container; a user's own setting wins over both), no news pop-up or update
check, pip does not check its own version over the network, and the first cell of a fresh
notebook (the usual imports, a seaborn theme, a Japanese plot, a progress bar) prints no
warning."""

from __future__ import annotations

import json

import pytest
from start_modes import run_in_kernel

# The same on every platform (settings and environment): another platform's image, run
# under QEMU, skips these; its own native code is checked by the tests it does run.
pytestmark = pytest.mark.same_on_every_platform

VIM = "@axlair/jupyterlab_vim:plugin"
NOTIFICATION = "@jupyterlab/apputils-extension:notification"


def lab_setting(container, plugin: str) -> dict:
    """The settings JupyterLab gives the browser for `plugin`: defaults, overrides, the user's."""
    code, body = container.api(f"/lab/api/settings/{plugin}", token=container.token)
    assert code == 200, body
    answer = json.loads(body)
    # the schema's defaults, which the server has already merged the image's overrides into,
    # under what the user saved: what JupyterLab composes in the browser
    defaults = {k: v.get("default") for k, v in answer["schema"]["properties"].items()}
    return defaults | (answer.get("settings") or {})


def test_vim_key_bindings_are_off_by_default(jupyter) -> None:
    assert lab_setting(jupyter, VIM)["enabled"] is False


def test_no_news_and_no_update_check(jupyter) -> None:
    settings = lab_setting(jupyter, NOTIFICATION)
    assert settings["fetchNews"] == "false" and settings["checkForUpdates"] is False, settings


def test_jupyterlab_vim_turns_vim_on_and_a_users_setting_wins(start_container) -> None:
    container = start_container(environment={"JUPYTERLAB_VIM": "1"})
    container.wait_healthy()
    assert lab_setting(container, VIM)["enabled"] is True
    # the user turns it off in JupyterLab's settings (what the Settings menu saves)
    put = container.host.run(
        "curl -s -o /dev/null -w '%%{http_code}' -X PUT -H %s -d %s "
        "http://127.0.0.1:8888/lab/api/settings/" + VIM,
        f"Authorization: token {container.token}",
        json.dumps({"raw": json.dumps({"enabled": False})}),
    )
    assert put.stdout == "204", put.stdout
    assert lab_setting(container, VIM)["enabled"] is False
    assert lab_setting(container, NOTIFICATION)["fetchNews"] == "false"  # the image's defaults


def test_pip_does_not_check_its_own_version(host) -> None:
    assert host.check_output("printenv PIP_DISABLE_PIP_VERSION_CHECK") == "1"
    result = host.run("pip --verbose list")
    assert result.rc == 0, result.stderr
    assert "pypi" not in (result.stdout + result.stderr).lower(), result.stderr


FIRST_CELL = """\
import numpy as np, pandas as pd, matplotlib.pyplot as plt, seaborn as sns
import sklearn, lightgbm, xgboost, catboost
from tqdm.auto import tqdm
sns.set_theme()
frame = pd.DataFrame({"売上": np.arange(5), "気温": np.arange(5) ** 2})
for _ in tqdm(range(3)):
    pass
frame.plot(title="売上と気温")
plt.show()
"""


def test_first_cell_of_a_fresh_notebook_prints_no_warning(jupyter) -> None:
    (cell,) = run_in_kernel(jupyter, FIRST_CELL)
    assert cell["errors"] == [] and cell["stderr"] == "", cell
    assert "image/png" in cell["mime"], cell
