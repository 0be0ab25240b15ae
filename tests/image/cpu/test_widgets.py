"""Widgets work in JupyterLab: ipywidgets 8 with its Lab extension (jupyterlab_widgets'
@jupyter-widgets/jupyterlab-manager), so tqdm.auto draws a progress bar instead of warning
"IProgress not found", and CatBoost's training plot (its own Lab extension, which needs the
shared module @jupyter-widgets/base) loads."""

from __future__ import annotations

import json
import re

import pytest
from start_modes import run_in_kernel

# The same on every platform (ipywidgets, tqdm's and CatBoost's widgets are Python and
# JavaScript): another platform's image, run under QEMU, skips these.
pytestmark = pytest.mark.same_on_every_platform

WIDGET = "application/vnd.jupyter.widget-view+json"
EXTENSIONS = "/opt/venv/share/jupyter/labextensions"
# what JupyterLab itself shares with extensions: its own packages and its core dependencies
CORE = "/opt/venv/share/jupyter/lab/static/package.json"


def test_widget_manager_lab_extension_is_listed_enabled_and_ok(host) -> None:
    listing = host.check_output("jupyter labextension list 2>&1")
    assert re.search(r"@jupyter-widgets/jupyterlab-manager .*enabled.*OK", listing), listing
    assert re.search(r"catboost-widget .*enabled.*OK", listing), listing


def test_every_shared_module_an_extension_does_not_bundle_is_provided(host) -> None:
    """A module an extension marks `bundled: false` must come from JupyterLab or from another
    extension, else the browser says "Shared module ... doesn't exist" (CatBoost's widget did)."""
    packages = [
        json.loads(host.file(path).content_string)
        for path in host.check_output(
            f"find {EXTENSIONS} -mindepth 2 -maxdepth 3 -name package.json"
        ).split()
    ]
    core = json.loads(host.file(CORE).content_string)
    provided = set(core.get("resolutions", {})) | set(core.get("dependencies", {}))
    needed = {}
    for package in packages:
        shared = package.get("jupyterlab", {}).get("sharedPackages", {})
        for name in package.get("dependencies", {}):
            if shared.get(name, {}).get("bundled", True):
                provided.add(name)
        for name, how in shared.items():
            if how.get("bundled", True) is False:
                needed.setdefault(name, []).append(package["name"])
    missing = {name: users for name, users in needed.items() if name not in provided}
    assert missing == {}, f"shared modules no extension provides: {missing}"


def test_tqdm_auto_draws_a_widget_progress_bar_without_warning(jupyter) -> None:
    (cell,) = run_in_kernel(jupyter, "from tqdm.auto import tqdm\nfor _ in tqdm(range(3)): pass")
    assert cell["errors"] == [] and cell["stderr"] == "", cell
    assert WIDGET in cell["mime"], cell


def test_catboost_training_plot_displays_its_widget(jupyter) -> None:
    (cell,) = run_in_kernel(
        jupyter,
        "from catboost import CatBoostClassifier\n"
        "model = CatBoostClassifier(iterations=5, verbose=False, train_dir='/tmp/catboost')\n"
        "model.fit([[0], [1], [0], [1]], [0, 1, 0, 1], plot=True);",
    )
    assert cell["errors"] == [] and cell["stderr"] == "", cell
    assert WIDGET in cell["mime"], cell
