"""The image has no Node.js, so JupyterLab cannot rebuild itself: the page config says so
(docker/rootfs/opt/venv/etc/jupyter/labconfig/page_config.json), and the page then neither asks
the server for its build status on every load (which logged "[W ... LabApp] Could not determine
jupyterlab build status without nodejs" each time) nor offers a build."""

import json
import re

import pytest

pytestmark = pytest.mark.same_on_every_platform  # a configuration file, the same on every platform

CONFIG_DATA = re.compile(
    r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.DOTALL
)


def test_the_lab_page_neither_checks_nor_offers_a_build(jupyter) -> None:
    code, body = jupyter.api("/lab", token=jupyter.token)
    assert code == 200, body
    found = CONFIG_DATA.search(body)
    assert found, "no jupyter-config-data in /lab"
    page_config = json.loads(found.group(1))
    assert page_config["buildCheck"] is False
    assert page_config["buildAvailable"] is False


def test_page_config_is_the_images_own_file(host) -> None:
    path = "/opt/venv/etc/jupyter/labconfig/page_config.json"
    assert json.loads(host.file(path).content_string) == {
        "buildAvailable": False,
        "buildCheck": False,
    }
