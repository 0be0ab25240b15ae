"""The command line: a thin click layer over the modules; errors are printed once, here."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click
import docker.errors
from docker import DockerClient

from imagectl import (
    base,
    build,
    config,
    contents,
    diff,
    engine,
    gitlab_ci,
    layers,
    lock,
    passes,
    platforms,
    prune,
    publish,
    registry,
    registry_server,
    revision,
    sbom,
    scaffold,
    tags,
    update,
)
from imagectl.errors import (
    CiConfigError,
    ConfigError,
    ContentsError,
    ImageToolError,
    RegistryError,
)


def _cache(graph: config.ImageGraph) -> Path:
    return graph.root / ".cache"


@click.group()
def cli() -> None:
    """Build, test and version the analysis base images named in images.yml."""


@cli.group("engine")
def engine_group() -> None:
    """The Docker engine the builds and tests use."""


@engine_group.command("up")
def engine_up() -> None:
    """Make sure an engine answers: as root, install docker.io and start dockerd if needed."""
    engine.ensure_running(_cache(config.load()) / "engine")
    click.echo("engine ready")


@engine_group.command("down")
def engine_down() -> None:
    """Stop the dockerd that `engine up` started (an engine started otherwise is left alone)."""
    stopped = engine.stop_started(_cache(config.load()) / "engine")
    click.echo("engine stopped" if stopped else "no engine of ours was running")


@cli.command("build")
@click.argument("names", nargs=-1, required=True)
@click.option(
    "--platform",
    "platform_text",
    help="linux/amd64, linux/arm64, both comma-separated, or `all` the image lists "
    "(default: this host's)",
)
def build_command(names: tuple[str, ...], platform_text: str | None) -> None:
    """Build the named images (and the parents they stand on) for their platforms. Each build
    is tagged <sha>-<platform>; the host's platform also <sha> and latest."""
    graph = config.load()
    wanted = {
        name: platforms.select(platform_text, name, graph.get(name).platforms) for name in names
    }
    order = graph.build_order(list(names))
    docker_client = engine.ensure_running(_cache(graph) / "engine")
    build_client = engine.build_client()
    rev = revision.current(graph.root)
    native = platforms.native()
    bases: dict[platforms.Platform, str] = {}
    built: dict[tuple[str, platforms.Platform], str] = {}
    # a parent not built here is pulled by the build from the registry, which may want a login
    registry_host = tags.registry_host(graph)
    with registry.cli_login(registry_host, registry.credentials_from_env()) as login_env:
        build_client = dataclasses.replace(build_client, env={**build_client.env, **login_env})
        for spec in order:
            # a parent is built for every platform a named descendant is built for
            needed = [
                p
                for p in platforms.KNOWN.values()
                if any(p in chosen and spec in graph.lineage(n) for n, chosen in wanted.items())
            ]
            for platform in needed:
                if platform != native:  # returns at once once binfmt_misc is ready
                    platforms.ensure_emulation(platform)
                for p in {native, platform}:
                    if spec.parent is None and p not in bases:
                        bases[p] = base.ensure(
                            graph.base,
                            docker_client,
                            build_client.argv[0],
                            _cache(graph) / "base",
                            p,
                        )
                if spec.parent:
                    parent_ref = built.get((spec.parent, platform)) or tags.platform_tag(
                        graph, spec.parent, rev.sha, platform
                    )
                else:
                    parent_ref = bases[platform]
                ref = build.build(
                    graph, spec, rev, parent_ref, build_client, platform, bases.get(native)
                )
                built[(spec.name, platform)] = ref
                click.echo(ref)
                _write_contents(graph, docker_client, spec.name, ref, rev.sha, platform)


def _write_contents(
    graph: config.ImageGraph,
    docker_client: DockerClient,
    name: str,
    ref: str,
    sha: str,
    platform: platforms.Platform,
) -> None:
    # build/contents/cpu-<sha>.json for the host's platform, cpu-<sha>-linux-arm64.json others
    version = sha if platform == platforms.native() else f"{sha}-{platform.slug}"
    try:
        found = contents.collect(
            docker_client, ref, contents.script_path(graph.root), built_here=True
        )
    except ContentsError as exc:  # the image is built and tagged; only its listing is missing
        click.echo(f"warning: no contents listing for {name}: {exc}", err=True)
        return
    for path in contents.write(found, graph.root / contents.OUTPUT_DIR, name, version):
        click.echo(f"  contents: {path.relative_to(graph.root)}", err=True)
    text = contents.sbom_of(docker_client, ref, contents.script_path(graph.root), listed=found)
    sbom_path = graph.root / contents.OUTPUT_DIR / f"{name}-{version}.cdx.json"
    sbom_path.write_text(text)
    click.echo(f"  SBOM: {sbom_path.relative_to(graph.root)}", err=True)


@cli.command("lock")
@click.argument("names", nargs=-1)
def lock_command(names: tuple[str, ...]) -> None:
    """Re-resolve the hash-locked requirements of the named images (default: all) and of uv."""
    graph = config.load()
    wanted = list(names) if names else list(graph.images)
    # parents first: a child's lock is resolved against its parent's (fresh) lock
    jobs = [
        (spec.requirements, graph.get(spec.parent).lock_file if spec.parent else None)
        for spec in graph.build_order(wanted)
        if spec.name in wanted and spec.requirements
    ]
    click.echo(lock.compile_lock(graph.root / "docker/requirements/uv.in"))
    for requirements, parent_lock in jobs:
        locked = lock.compile_lock(requirements, parent_lock)
        click.echo(locked)
        for layer_file in layers.write_layers(requirements, locked):
            click.echo(f"  {layer_file}")


@cli.command("update")
@click.option(
    "--images",
    "images_text",
    envvar="UPDATE_IMAGES",
    help="build and test only these images (space- or comma-separated; env UPDATE_IMAGES); "
    "default: every image whose pins moved",
)
@click.option(
    "--push",
    is_flag=True,
    help="push the branch update/<date> with the push options that open a merge request "
    "(in a GitLab job, with the token in UPDATE_PUSH_TOKEN)",
)
def update_command(images_text: str | None, push: bool) -> None:
    """Re-resolve every lock and the base pin; if anything moved, commit it on update/<date>,
    build and test the images that changed (this host's platform) and write
    build/update/report.md, the merge request's description."""
    wanted = [n for n in (images_text or "").replace(",", " ").split() if n] or None
    sys.exit(update.update(config.find_root(), wanted, push))


@cli.command("lock-base")
def lock_base_command() -> None:
    """Pin the base image to the digest its tag has now (images.yml and .gitlab-ci.yml)."""
    graph = config.load()
    docker_client = engine.ensure_running(_cache(graph) / "engine")
    click.echo(base.lock(graph.base, docker_client, graph.root))


@cli.command("platforms")
@click.argument("name")
@click.option("--emulated", is_flag=True, help="only those this host runs under QEMU")
def platforms_command(name: str, emulated: bool) -> None:
    """Print the platforms images.yml lists for NAME, one a line."""
    listed = [platforms.get(p) for p in config.load().get(name).platforms]
    for platform in listed:
        if not (emulated and platform == platforms.native()):
            click.echo(platform.name)


@cli.command("ref")
@click.argument("name")
def ref_command(name: str) -> None:
    """Print the <registry>/<image>:<sha> reference of NAME at the current commit."""
    graph = config.load()
    graph.get(name)
    click.echo(tags.sha_tag(graph, name, revision.current(graph.root).sha))


@cli.command("lineage")
@click.argument("name")
def lineage_command(name: str) -> None:
    """Print NAME and the images it is built FROM, root first (whose tests cover NAME)."""
    click.echo(" ".join(spec.name for spec in config.load().lineage(name)))


@cli.group("registry")
def registry_group() -> None:
    """The local registry that versions go to when REGISTRY_URL is not set."""


@registry_group.command("up")
def registry_up() -> None:
    """Start the local registry (storage in .cache/registry/) unless one answers already."""
    graph = config.load()
    registry_host = tags.registry_host(graph)
    if not registry_server.is_embedded(registry_host):
        raise RegistryError(
            f"{registry_host} is not a local registry, so there is nothing to start",
            "unset REGISTRY_URL to use the local one",
        )
    started = registry_server.ensure_running(_cache(graph) / "registry", registry_host)
    state = "started" if started else "already running"
    click.echo(f"registry {state} at http://{registry_host}/v2/")


@registry_group.command("down")
def registry_down() -> None:
    """Stop the registry that `registry up` started (by its recorded PID)."""
    stopped = registry_server.stop_started(_cache(config.load()) / "registry")
    click.echo("registry stopped" if stopped else "no registry of ours was running")


def _registries(graph: config.ImageGraph) -> registry_server.Registries:
    """The registries a command may talk to, with the login from the environment."""
    return registry_server.Registries(
        tags.registry_host(graph), _cache(graph) / "registry", registry.credentials_from_env()
    )


def _connect(graph: config.ImageGraph) -> registry.RegistryClient:
    """A client for the graph's registry; the local one is started when it is down."""
    return _registries(graph).open(tags.registry_host(graph))


def _version(graph: config.ImageGraph, name: str, sha: str | None) -> registry.Reference:
    sha = sha or revision.current(graph.root).sha
    return registry.parse_reference(tags.version_tag(graph, name, sha))


_SHA_OPTION = click.option("--sha", help="the commit whose version to use (default: HEAD)")


@cli.command("push")
@click.argument("name")
@_SHA_OPTION
@click.option(
    "--platform",
    "platform_text",
    help="for an image of several platforms: push only these (comma-separated; default all "
    "images.yml lists); <sha> is written once all are in the registry",
)
def push_command(name: str, sha: str | None, platform_text: str | None) -> None:
    """Push NAME's <sha> tag (never latest). A tag that holds another image is refused. An
    image built for several platforms goes up as each platform's <sha>-<platform> and, last,
    one index over them under <sha>."""
    graph = config.load()
    spec = graph.get(name)
    chosen = platforms.select(platform_text, name, spec.platforms) if platform_text else None
    ref = _version(graph, name, sha)
    registries = _registries(graph)
    client = registries.open(ref.host)
    docker_client = engine.docker_client()
    script = contents.script_path(graph.root)
    repository = f"{ref.host}/{ref.repository}"

    def attach(local: str, pushed: registry.Reference) -> None:
        """Attach to its manifest `pushed` (by digest) the SBOM of the local image `local`,
        and the pass of its tests if one is recorded here."""
        subject = sbom.image_component(
            name,
            version=ref.tag,
            repository=repository,
            digest=pushed.digest,
            image_id=docker_client.images.get(local).id,
        )
        text = contents.sbom_of(docker_client, local, script, subject)
        publish.attach_sbom(client, pushed, text)
        image = client.manifest(pushed.repository, pushed.reference)
        if image is not None:
            passes.attach(client, graph.root, name, pushed, image, publish.stderr)

    if len(spec.platforms) > 1:
        listed = [platforms.get(p) for p in spec.platforms]
        index = publish.push_platforms(
            docker_client, client, name, ref, listed, registries.credentials, attach, chosen
        )
        if index is None:  # the other platforms are pushed elsewhere
            return
        digest = index
    else:
        digest = publish.push(docker_client, client, ref, registries.credentials)
        attach(str(ref), dataclasses.replace(ref, digest=digest))
    click.echo(f"{repository}@{digest}")


@cli.command("promote")
@click.argument("name")
@_SHA_OPTION
def promote_command(name: str, sha: str | None) -> None:
    """Point latest in the registry at NAME's pushed <sha>, if that image passed its tests."""
    graph = config.load()
    ref = _version(graph, name, sha)
    digest = publish.promote(_connect(graph), graph.root, name, ref)
    click.echo(f"{ref.host}/{ref.repository}@{digest}")


_PLATFORM_OPTION = click.option(
    "--platform",
    "platform_text",
    help="linux/amd64 or linux/arm64, for a version built for several (default: this host's)",
)


def _one_platform(
    graph: config.ImageGraph, name: str, text: str | None
) -> platforms.Platform | None:
    """The platform named by --platform, checked against images.yml; None when not given."""
    if not text:
        return None
    chosen = platforms.select(text, name, graph.get(name).platforms)
    if len(chosen) != 1:
        raise ConfigError(
            f"--platform {text} names {len(chosen)} platforms; this command takes one",
            "name one, e.g. --platform linux/arm64",
        )
    return chosen[0]


def _image_name(graph: config.ImageGraph, version: str) -> str | None:
    """The image of the graph that a version (NAME:TAG, NAME@DIGEST or a full reference)
    belongs to, if any."""
    resolved = tags.resolve(graph, version)
    repository = resolved.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return next((n for n in graph.images if tags.repository(graph, n) == repository), None)


@cli.command("pull")
@click.argument("name")
@_SHA_OPTION
@click.option("--digest", help="pull this manifest digest (sha256:...) instead of a tag")
@_PLATFORM_OPTION
def pull_command(name: str, sha: str | None, digest: str | None, platform_text: str | None) -> None:
    """Pull a version of NAME by its SHA tag (default: HEAD's) or by digest. Of a version
    built for several platforms, this host's (or --platform's; another platform is tagged
    <sha>-<platform> here)."""
    graph = config.load()
    platform = _one_platform(graph, name, platform_text)
    if digest:
        graph.get(name)
        ref = registry.parse_reference(f"{tags.repository(graph, name)}@{digest}")
    else:
        ref = _version(graph, name, sha)
    registries = _registries(graph)
    client = registries.open(ref.host)
    found = publish.pull(engine.docker_client(), client, ref, registries.credentials, platform)
    # the pass of its tests, if they passed before (in its merge request's pipeline, say)
    image = client.manifest(ref.repository, found.platform_digest or found.digest)
    passed = image and passes.fetch(client, graph.root, name, ref.repository, image, publish.stderr)
    if passed:
        click.echo(
            f"its tests passed: {passed.get('tests')} tests at {passed.get('passed_at')} "
            f"(a pass attached in the registry, now recorded here)",
            err=True,
        )
    if found.platform_digest:
        click.echo(f"{found.platform}: {ref.host}/{ref.repository}@{found.platform_digest}")
    click.echo(f"{ref.host}/{ref.repository}@{found.digest}")


@cli.command("passed")
@click.argument("name")
@_SHA_OPTION
@_PLATFORM_OPTION
def passed_command(name: str, sha: str | None, platform_text: str | None) -> None:
    """Exit 0 when a pass of all its tests is recorded for NAME's local image of that version
    (this host's platform, or --platform's), 1 when none is: a CI job tests only then."""
    graph = config.load()
    platform = _one_platform(graph, name, platform_text) or platforms.native()
    sha = sha or revision.current(graph.root).sha
    local = tags.platform_tag(graph, name, sha, platform)
    try:
        image_id = engine.docker_client().images.get(local).id
    except docker.errors.ImageNotFound:
        raise ConfigError(
            f"{local} is not a local image", f"pull it first: `imagectl pull {name}`"
        ) from None
    found = passes.find(graph.root, name, image_id)
    if found is None:
        click.echo(f"no pass is recorded for {local} (image {image_id})")
        sys.exit(1)
    click.echo(
        f"{local} (image {image_id}) passed {found['tests']} tests at {found['passed_at']}: "
        "not tested again"
    )


@cli.command("contents")
@click.argument("version")
@click.option("--markdown", is_flag=True, help="Markdown instead of JSON")
@_PLATFORM_OPTION
def contents_command(version: str, markdown: bool, platform_text: str | None) -> None:
    """Print what a local image holds (VERSION: NAME:SHA, NAME:latest or a full reference);
    with --platform, that platform's image of the version (its local <sha>-<platform>)."""
    graph = config.load()
    ref = tags.resolve(graph, version)
    if platform_text:
        platform = platforms.get(platform_text)
        name = _image_name(graph, version)
        if name:
            platforms.select(platform.name, name, graph.get(name).platforms)
        if platform != platforms.native():
            if "@" in ref:
                raise ConfigError(
                    f"{version} names a digest; the local image of one platform is named by "
                    "its SHA tag",
                    f"write NAME:<sha> --platform {platform.name}",
                )
            ref = f"{ref}-{platform.slug}"
    found = contents.collect(engine.docker_client(), ref, contents.script_path(graph.root))
    click.echo(contents.markdown(found) if markdown else json.dumps(found, indent=1))


@cli.command("sbom")
@click.argument("version")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="write it here")
@_PLATFORM_OPTION
def sbom_command(version: str, output: Path | None, platform_text: str | None) -> None:
    """Print the CycloneDX SBOM attached in the registry to VERSION (NAME:SHA, NAME:latest or
    a full reference), after checking it is valid and about that very image; of a version
    built for several platforms, that of this host's platform (or --platform's)."""
    graph = config.load()
    ref = registry.parse_reference(tags.resolve(graph, version))
    client = _registries(graph).reachable(ref.host, start=True)
    if client is None:
        raise RegistryError(
            f"the registry at {ref.host} does not answer", "start it, or check REGISTRY_URL"
        )
    platform = platforms.get(platform_text) if platform_text else None
    text = publish.fetch_sbom(client, ref, platform.name if platform else None)
    if output:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="print JSON for machines")
def diff_command(old: str, new: str, as_json: bool) -> None:
    """What changes from version OLD to NEW (NAME:SHA, NAME:latest, NAME@DIGEST or a full
    reference): packages, labels, and the bytes a holder of OLD pulls to get NEW; platform by
    platform for versions built for several."""
    graph = config.load()
    old_name, new_name = (_image_name(graph, version) for version in (old, new))
    result = diff.compare(
        engine.docker_client(),
        (tags.resolve(graph, old), tags.resolve(graph, new)),
        contents.script_path(graph.root),
        _registries(graph),
        (
            graph.get(old_name).platforms if old_name else (),
            graph.get(new_name).platforms if new_name else (),
        ),
    )
    click.echo(json.dumps(result, indent=1) if as_json else diff.render(result))


@cli.command("prune")
@click.option("--keep", default=2, show_default=True, help="older SHA versions to keep")
@click.option("--dry-run", is_flag=True, help="only say what would be removed")
def prune_command(keep: int, dry_run: bool) -> None:
    """Remove local images of older SHAs of each image, keeping the current SHA's, latest's
    and the KEEP newest; never the build cache."""
    graph = config.load()
    rev = revision.current(graph.root)
    docker_client = engine.docker_client()
    removals = prune.plan(docker_client, graph, rev.sha, rev.source, keep)
    if dry_run:
        for removal in removals:
            click.echo(f"would remove {removal.target} ({removal.reason})")
        return
    count = prune.prune(docker_client, removals, click.echo)
    click.echo(f"removed {count} image(s)")


@cli.command("ci-lint")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def ci_lint_command(files: tuple[Path, ...]) -> None:
    """Check GitLab CI FILES (default: .gitlab-ci.yml and the CI files in templates/) as GitLab
    does when it creates a pipeline: its schema on each YAML document (a component's spec
    header too), component specs, and the inputs every include passes."""
    root = config.find_root()
    paths = list(files) or [root / ".gitlab-ci.yml", *sorted((root / "templates").glob("*.yml"))]
    problems = gitlab_ci.lint(paths, root)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise CiConfigError(f"{len(problems)} problem(s) in {len(paths)} CI file(s)")
    click.echo(f"ok: {len(paths)} CI file(s)")


@cli.command("new-project")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--image", "name", default="cpu", show_default=True, help="the image to build on")
@click.option("--sha", help="the version to pin (default: the registry's current latest)")
@click.option("--port", default=8888, show_default=True, help="JupyterLab's port on the host")
def new_project_command(directory: Path, name: str, sha: str | None, port: int) -> None:
    """Write an analysis project in DIRECTORY pinned to one version of an image."""
    graph = config.load()
    if not sha:
        sha = publish.latest_revision(
            _connect(graph), registry.parse_reference(tags.latest_tag(graph, name))
        )
    image_ref = tags.version_tag(graph, name, sha)
    for path in scaffold.create(graph.root, directory, image_ref, port=port):
        click.echo(path)
    click.echo(
        f"pinned to {image_ref}; next: cd {directory} && export JUPYTER_TOKEN=... && "
        "docker compose up -d --build"
    )


def main() -> None:
    try:
        cli(standalone_mode=False)
    except ImageToolError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
