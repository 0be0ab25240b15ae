"""Run inside an image: for each distribution name given, import every top-level module it
installs, and print {name: error or null} as JSON. The module names come from the installed
metadata, so no second list of import names is kept by hand."""

import importlib
import importlib.metadata
import json
import re
import sys
import warnings


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


modules: dict[str, list[str]] = {}
for module, dists in importlib.metadata.packages_distributions().items():
    for dist in dists:
        modules.setdefault(normalize(dist), []).append(module)

results = {}
for name in sys.argv[1:]:
    found = [m for m in modules.get(normalize(name), []) if not m.startswith("_")]
    error = None if found else "installs no importable module"
    for module in found:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importlib.import_module(module)
        except Exception as exc:  # report every failure, not just the first
            error = f"import {module}: {type(exc).__name__}: {exc}"
    results[name] = error
print(json.dumps(results))
