"""The command line: a thin click layer over the modules; errors are printed once, here."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imagectl import base, build, config, engine, lock, revision, tags
from imagectl.errors import ImageToolError


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
def build_command(names: tuple[str, ...]) -> None:
    """Build the named images (and the parents they stand on), tagged <sha> and latest."""
    graph = config.load()
    order = graph.build_order(list(names))
    docker = engine.ensure_running(_cache(graph) / "engine")
    client = engine.build_client()
    rev = revision.current(graph.root)
    built: dict[str, str] = {}
    for spec in order:
        if spec.parent:
            parent_ref = built.get(spec.parent) or tags.sha_tag(graph, spec.parent, rev.sha)
        else:
            parent_ref = base.ensure(graph.base, docker, client.argv[0], _cache(graph) / "base")
        built[spec.name] = build.build(graph, spec, rev, parent_ref, client)
        click.echo(built[spec.name])


@cli.command("lock")
@click.argument("names", nargs=-1)
def lock_command(names: tuple[str, ...]) -> None:
    """Re-resolve the hash-locked requirements of the named images (default: all) and of uv."""
    graph = config.load()
    specs = [graph.get(n) for n in names] if names else list(graph.images.values())
    wishes = [s.requirements for s in specs if s.requirements]
    for path in [graph.root / "docker/requirements/uv.in", *wishes]:
        click.echo(lock.compile_lock(path))


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
