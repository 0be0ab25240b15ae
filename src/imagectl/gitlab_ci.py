"""GitLab CI files as GitLab reads them, for the checks GitLab makes when it creates a pipeline
and the offline tools leave out.

- A file with a `spec:` header (a CI/CD component) is two YAML documents; check-jsonschema reads
  only single-document files, so `lint` validates each document on its own against GitLab's
  schema (the header alone is a valid configuration of just `spec`).
- An include's `inputs:` are checked against the included file's `spec:inputs` with GitLab's
  rules and messages: unknown input arguments, a required input not provided, a value of
  another type, one not in `options` or not matching `regex`. gitlab-ci-local checks only the
  inputs that the body interpolates, and never reports unknown ones.
- `expand` gives the configuration with this project's includes merged in (local files and the
  project's own components, `$CI_SERVER_FQDN/$CI_PROJECT_PATH/<name>@<ref>`), inputs
  interpolated and `!reference` tags resolved. Includes of other projects, remote files and
  GitLab's templates cannot be read offline and are left out.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imagectl.errors import CiConfigError, ImageToolError

# GitLab's catalog takes these files of a project as its components (Ci::Catalog::ComponentsProject)
COMPONENT_PATH = re.compile(r"^templates/[\w-]+(?:/template)?\.yml$")
# an include of this project's own component, at any ref
OWN_COMPONENT = re.compile(r"^\$CI_SERVER_FQDN/\$CI_PROJECT_PATH/(?P<name>[\w-]+)@(?P<ref>.+)$")
INTERPOLATION = re.compile(r"\$\[\[\s*inputs\.(?P<key>[\w-]+)\s*\]\]")
INPUT_KEYS = {"default", "description", "options", "regex", "rules", "type"}
INPUT_TYPES = {"array": list, "boolean": bool, "number": (int, float), "string": str}
_SEPARATOR = re.compile(r"^---[ \t]*$")
_MAX_ERRORS = 3  # GitLab joins the first three interpolation errors into its message


@dataclass(frozen=True)
class Reference:
    """A `!reference [job, key, ...]` tag, resolved by `expand` once every include is merged."""

    path: tuple[str, ...]


class _Loader(yaml.SafeLoader):
    """YAML as GitLab reads it: `!reference` tags are kept."""


_Loader.add_constructor(
    "!reference", lambda loader, node: Reference(tuple(loader.construct_sequence(node)))
)


@dataclass
class Document:
    """One YAML document of a file, and the line of the file it starts on (1-based)."""

    first_line: int
    text: str


@dataclass
class CiFile:
    """A CI file: its documents, the `spec` of its header (None without one) and its body."""

    location: str  # the path from the project's root, as GitLab names the file in messages
    documents: list[Document]
    spec: dict[str, Any] | None
    body: dict[str, Any]

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """spec:inputs, each with its settings ({} for an input declared without any)."""
        declared = (self.spec or {}).get("inputs") or {}
        return {name: settings or {} for name, settings in declared.items()}


def read(path: Path, root: Path) -> CiFile:
    """Read a CI file of the project at `root`; a header is a first document holding `spec`."""
    location = path.resolve().relative_to(root.resolve()).as_posix()
    try:
        text = path.read_text()
    except OSError as exc:
        raise CiConfigError(f"`{location}`: cannot be read ({exc.strerror})") from None
    try:
        documents = _documents(text)
        loaded = [_load(doc) for doc in documents]
    except yaml.YAMLError as exc:
        raise CiConfigError(f"`{location}`: not valid YAML: {exc}") from None
    if len(loaded) > 2 or (len(loaded) == 2 and not _is_header(loaded[0])):
        raise CiConfigError(
            f"`{location}`: {len(loaded)} YAML documents; a CI file holds one, or a `spec:` "
            "header and one"
        )
    spec = loaded[0]["spec"] if len(loaded) == 2 else None
    body = loaded[-1] if loaded else {}
    if not isinstance(body, dict):
        raise CiConfigError(f"`{location}`: the configuration is not a mapping")
    return CiFile(location, documents, spec, body)


def _documents(text: str) -> list[Document]:
    """The file's YAML documents, split at its `---` lines; empty or comment-only ones left out."""
    lines = text.splitlines(keepends=True)
    documents: list[Document] = []
    start = 0
    for number, line in enumerate([*lines, "---"]):
        if _SEPARATOR.match(line):
            document = Document(start + 1, "".join(lines[start:number]))
            if _load(document) is not None:
                documents.append(document)
            start = number + 1
    return documents


def _load(document: Document) -> Any:
    """One document, loaded so that YAML's error messages give the file's line numbers."""
    return yaml.load("\n" * (document.first_line - 1) + document.text, Loader=_Loader)


def _is_header(document: object) -> bool:
    return isinstance(document, dict) and set(document) == {"spec"}


def check_inputs(spec_inputs: dict[str, dict[str, Any]], args: dict[str, Any]) -> list[str]:
    """What GitLab says of `args` given to a file with these spec:inputs (empty: all is well)."""
    errors: list[str] = []
    unknown = [name for name in args if name not in spec_inputs]
    if unknown:
        errors.append(f"unknown input arguments: {', '.join(unknown)}")
    for name, settings in spec_inputs.items():
        errors += _check_input(name, settings, args.get(name))
    return errors


def _check_input(name: str, settings: dict[str, Any], value: object) -> list[str]:
    type_name = settings.get("type", "string")
    expected = INPUT_TYPES.get(type_name)
    if expected is None:
        return [f"unknown input specification for `{name}` (valid types: {', '.join(INPUT_TYPES)})"]

    def error(message: str) -> list[str]:
        return [f"`{name}` input: {message}"]

    def valid(candidate: object) -> bool:
        # YAML's true is no number, as in GitLab (Ruby's true is no Numeric)
        return isinstance(candidate, expected) and not (
            type_name == "number" and isinstance(candidate, bool)
        )

    required = "default" not in settings
    if required and value is None:
        return error("required value has not been provided")
    default = settings.get("default")
    if not required and default is not None and not valid(default):
        return error(f"default value is not a {type_name}")
    actual = default if value is None else value
    if actual is not None and not valid(actual):
        return error(f"provided value is not a {type_name}")
    options = settings.get("options")
    if options is not None and actual not in options:
        return error(f"`{actual}` cannot be used because it is not in the list of allowed options")
    pattern = settings.get("regex")
    if pattern is not None and type_name == "string":
        try:
            matches = re.search(pattern, actual or "") is not None
        except re.error:
            return error("invalid regular expression")
        if not matches:
            which = "default" if value is None else "provided"
            return error(f"{which} value does not match required RegEx pattern")
    return []


def input_values(spec_inputs: dict[str, dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    """The value of every input: the one given, else its default."""
    return {
        name: args[name] if args.get(name) is not None else settings.get("default")
        for name, settings in spec_inputs.items()
    }


def used_inputs(node: object) -> set[str]:
    """The inputs that `$[[ inputs.NAME ]]` names anywhere in a body, in keys and values."""
    if isinstance(node, str):
        return {match["key"] for match in INTERPOLATION.finditer(node)}
    if isinstance(node, dict):
        return set().union(*(used_inputs(k) | used_inputs(v) for k, v in node.items()))
    if isinstance(node, list):
        return set().union(*(used_inputs(item) for item in node))
    return set()


def interpolate(node: object, values: dict[str, Any], location: str) -> Any:
    """`$[[ inputs.NAME ]]` replaced, in keys and values. A string that is only the
    interpolation takes the input's value with its type; within other text it becomes text."""
    if isinstance(node, dict):
        return {
            interpolate(k, values, location): interpolate(v, values, location)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [interpolate(item, values, location) for item in node]
    if not isinstance(node, str):
        return node
    for key in used_inputs(node):
        if key not in values:
            raise CiConfigError(f"`{location}`: unknown interpolation key: `{key}`")
    whole = INTERPOLATION.fullmatch(node.strip())
    if whole:
        return values[whole["key"]]

    def text(match: re.Match[str]) -> str:
        value = values[match["key"]]
        return value if isinstance(value, str) else json.dumps(value)

    return INTERPOLATION.sub(text, node)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """GitLab's merge of included configuration: mappings key by key, anything else replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def include_target(include: object, root: Path) -> tuple[Path, dict[str, Any]] | None:
    """The file an `include:` entry names in this project, with the inputs it passes; None for
    what lies outside it (another project's files or components, remote files, templates)."""
    if isinstance(include, str):
        include = {} if "://" in include else {"local": include}
    if not isinstance(include, dict):
        return None
    inputs = include.get("inputs") or {}
    if "local" in include:
        return root / str(include["local"]).lstrip("/"), inputs
    match = OWN_COMPONENT.match(str(include.get("component", "")))
    if match:
        for candidate in (
            f"templates/{match['name']}.yml",
            f"templates/{match['name']}/template.yml",
        ):
            if (root / candidate).is_file():
                return root / candidate, inputs
        raise CiConfigError(
            f"component `{include['component']}`: neither templates/{match['name']}.yml nor "
            f"templates/{match['name']}/template.yml exists in this project"
        )
    return None


def expand(path: Path, root: Path) -> dict[str, Any]:
    """The configuration of the CI file at `path` as GitLab builds it from this project's files:
    includes merged in (the including file last), inputs checked and interpolated, references
    resolved. Bad inputs raise CiConfigError with GitLab's message."""
    return _resolve_references(_expand(read(path, root), {}, root, depth=0))


def _expand(file: CiFile, args: dict[str, Any], root: Path, depth: int) -> dict[str, Any]:
    if depth > 100:
        raise CiConfigError(f"`{file.location}`: includes nest too deep (an include loop?)")
    if file.spec is None:
        errors = ["unknown input arguments"] if args else []
    else:
        errors = check_inputs(file.inputs, args)
    if errors:
        raise CiConfigError(f"`{file.location}`: {', '.join(errors[:_MAX_ERRORS])}")
    body = file.body
    if file.spec is not None:
        body = interpolate(body, input_values(file.inputs, args), file.location)
    includes = body.get("include", [])
    merged: dict[str, Any] = {}
    for include in includes if isinstance(includes, list) else [includes]:
        target = include_target(include, root)
        if target is not None:
            included = _expand(read(target[0], root), target[1], root, depth + 1)
            merged = deep_merge(merged, included)
    return deep_merge(merged, {k: v for k, v in body.items() if k != "include"})


def _resolve_references(config: dict[str, Any]) -> dict[str, Any]:
    def resolve(node: object, depth: int) -> Any:
        if depth > 10:  # GitLab's limit of nested references
            raise CiConfigError("too many nested !reference tags (a reference loop?)")
        if isinstance(node, Reference):
            found: Any = config
            for step in node.path:
                if not isinstance(found, dict) or step not in found:
                    raise CiConfigError(f"!reference {list(node.path)} could not be found")
                found = found[step]
            return resolve(found, depth + 1)
        if isinstance(node, dict):
            return {key: resolve(value, depth) for key, value in node.items()}
        if isinstance(node, list):
            items: list[Any] = []
            for item in node:
                value = resolve(item, depth)
                # a reference to a list inside a list is spliced in, as GitLab flattens it
                items += (
                    value if isinstance(item, Reference) and isinstance(value, list) else [value]
                )
            return items
        return node

    return resolve(config, 0)


def component_paths(files: Iterable[str]) -> list[str]:
    """The project files GitLab's catalog takes for components (of `git ls-files`' paths)."""
    return sorted(name for name in files if COMPONENT_PATH.match(name))


def lint(paths: Iterable[Path], root: Path) -> list[str]:
    """Every problem GitLab would report for these CI files (empty: none): each YAML document
    against GitLab's schema; a component's spec (defaults of the right type, options and
    regex; interpolations of declared inputs only); a pipeline's includes and their inputs."""
    problems: list[str] = []
    files: list[CiFile] = []
    for path in paths:
        try:
            files.append(read(path, root))
        except CiConfigError as exc:
            problems.append(str(exc))
    problems += _schema_problems(files)
    for file in files:
        if file.spec is not None:
            problems += _spec_problems(file)
            continue
        try:
            expand(root / file.location, root)
        except CiConfigError as exc:
            problems.append(f"{file.location}: {exc}")
    return problems


def _spec_problems(file: CiFile) -> list[str]:
    problems = [
        f"`{file.location}`: header:spec:inputs:{name} config contains unknown keys: "
        + ", ".join(sorted(set(settings) - INPUT_KEYS))
        for name, settings in file.inputs.items()
        if set(settings) - INPUT_KEYS
    ]
    problems += [
        f"`{file.location}`: {message}"
        for name, settings in file.inputs.items()
        if "default" in settings
        for message in _check_input(name, settings, None)
    ]
    problems += [
        f"`{file.location}`: unknown interpolation key: `{key}`"
        for key in sorted(used_inputs(file.body) - set(file.inputs))
    ]
    return problems


def _schema_problems(files: list[CiFile]) -> list[str]:
    """check-jsonschema with GitLab's schema on each document, written to a file of its own
    (blank lines first, so that line numbers are the file's); its report names the documents
    after their files."""
    tool = _check_jsonschema()
    with tempfile.TemporaryDirectory(prefix="ci-lint-") as tmp:
        names: dict[str, str] = {}
        for index, file in enumerate(files):
            for part, document in enumerate(file.documents):
                target = Path(tmp) / f"{index}-{part}.yml"
                target.write_text("\n" * (document.first_line - 1) + document.text)
                label = "header" if part == 0 and file.spec is not None else "configuration"
                names[str(target)] = f"{file.location} ({label})"
        if not names:
            return []
        result = subprocess.run(
            [tool, "--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci"]
            + list(names),
            capture_output=True,
            text=True,
        )
    if result.returncode == 0:
        return []
    report = result.stdout + result.stderr
    for temporary, label in names.items():
        report = report.replace(temporary, label)
    return [f"GitLab's schema: {report.strip()}"]


def _check_jsonschema() -> str:
    beside = Path(sys.executable).with_name("check-jsonschema")
    found = str(beside) if beside.exists() else shutil.which("check-jsonschema")
    if not found:
        raise ImageToolError(
            "check-jsonschema is not installed", hint="pip install -e '.[dev]' (it is a dev tool)"
        )
    return found
