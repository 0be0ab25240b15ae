"""host.ensure_debian_packages: a package is known by its command or, for one without a
command (fonts), by a file it installs; without root it stops and names the fix."""

from pathlib import Path

import pytest

from imagectl import host
from imagectl.errors import EngineError


def test_a_package_whose_file_is_there_is_not_installed(tmp_path: Path, monkeypatch) -> None:
    font = tmp_path / "font.ttc"
    font.write_bytes(b"")
    monkeypatch.setattr(host.proc, "run_echoed", lambda *a, **k: pytest.fail("apt-get ran"))
    host.ensure_debian_packages({"fonts-noto-cjk": str(font), "coreutils": "ls"}, "a test")


def test_without_root_a_missing_package_names_the_install_command(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(host, "is_root", lambda: False)
    with pytest.raises(EngineError) as raised:
        host.ensure_debian_packages(
            {"chromium": "no-such-command-here", "fonts-noto-cjk": str(tmp_path / "none")},
            "the browser test",
        )
    assert "the browser test needs the Debian package(s) chromium fonts-noto-cjk" in str(
        raised.value
    )
    assert "apt-get install -y chromium fonts-noto-cjk" in str(raised.value)
