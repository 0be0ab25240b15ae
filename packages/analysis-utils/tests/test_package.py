"""Package-level behaviour: imports without torch, public API."""

import os
import subprocess
import sys

import analysis_utils


def test_package_imports_without_torch_and_names_torch_when_radam_is_requested():
    code = (
        "import sys\n"
        "class HideTorch:\n"  # behave as if torch were not installed
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, HideTorch())\n"
        "sys.modules.pop('torch', None)\n"
        "import analysis_utils\n"
        "assert not any(m == 'torch' or m.startswith('torch.') for m, v in sys.modules.items()"
        " if v is not None)\n"
        "analysis_utils.RAdamNumpy, analysis_utils.ContinuousStratifiedKFold\n"
        "try:\n"
        "    analysis_utils.RAdam\n"
        "except ImportError as exc:\n"
        "    assert 'torch' in str(exc), exc\n"
        "    print('ok')\n"
    )
    src = os.path.dirname(os.path.dirname(os.path.abspath(analysis_utils.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_public_names_are_all_importable():
    for name in analysis_utils.__all__:
        if name != "RAdam":  # lazily imported, needs torch; covered in test_torch_radam
            assert getattr(analysis_utils, name) is not None


def test_unknown_attribute_raises_attribute_error():
    try:
        analysis_utils.does_not_exist  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
