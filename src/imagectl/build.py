"""Building one image of the graph with BuildKit: secrets, labels, tags and progress."""

from __future__ import annotations

import subprocess
import sys

from imagectl import engine, host, platforms, proc, tags
from imagectl.config import ImageGraph, ImageSpec
from imagectl.errors import BuildError
from imagectl.platforms import Platform
from imagectl.revision import Revision

CA_SECRET_ID = "ca_bundle"


def labels(spec: ImageSpec, revision: Revision) -> dict[str, str]:
    """The OCI labels every image carries; the CI template writes the same ones."""
    return {
        "org.opencontainers.image.title": spec.name,
        "org.opencontainers.image.revision": revision.sha,
        "org.opencontainers.image.created": revision.created,
        "org.opencontainers.image.source": revision.source,
        "org.opencontainers.image.version": revision.version,
    }


def command(
    graph: ImageGraph,
    spec: ImageSpec,
    revision: Revision,
    base_ref: str,
    build_client: engine.BuildClient,
    platform: Platform | None = None,
    build_base_ref: str | None = None,
) -> list[str]:
    """The full build command line for `spec` on `platform` (default: the host's). Tags:
    <sha>-<platform> always; <sha> and latest too for the host's own platform, which is the
    one `docker run IMAGE:<sha>` runs here."""
    platform = platform or platforms.native()
    argv = [*build_client.argv, "--progress", "plain", "-f", str(spec.dockerfile)]
    argv += ["--platform", platform.name]
    ca = host.ca_bundle()
    if ca:
        argv += ["--secret", f"id={CA_SECRET_ID},src={ca}"]
    # No BUILDKIT_INLINE_CACHE here (the CI template has it, for `--cache-from latest`): the
    # cache metadata it writes into the image config changes with other builds of the same
    # Dockerfile, so a rebuild of one commit would become another image.
    build_args = {
        "BASE_IMAGE": base_ref,
        # the stages that run on the build host (Python packages) stand on the host's base
        "BUILD_BASE_IMAGE": build_base_ref or base_ref,
        # BuildKit 0.11 and later date the image and its history by the commit, not the clock
        "SOURCE_DATE_EPOCH": str(revision.timestamp),
        **spec.build_args,
    }
    if platform != platforms.native():
        # cpu.Dockerfile lists the image's contents from its files with the build host's
        # programs, not with its own under QEMU (BuildKit ignores it where no ARG takes it)
        build_args["LIST_CONTENTS_ON"] = "build-host"
    if spec.replaces:  # the parent's distributions the Dockerfile uninstalls first
        build_args["REPLACES"] = " ".join(sorted(spec.replaces))
    for key, value in build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in labels(spec, revision).items():
        argv += ["--label", f"{key}={value}"]
    argv += ["-t", tags.platform_tag(graph, spec.name, revision.sha, platform)]
    if platform == platforms.native():
        argv += ["-t", tags.sha_tag(graph, spec.name, revision.sha)]
        argv += ["-t", tags.latest_tag(graph, spec.name)]
    return [*argv, str(spec.context)]


def build(
    graph: ImageGraph,
    spec: ImageSpec,
    revision: Revision,
    base_ref: str,
    build_client: engine.BuildClient,
    platform: Platform | None = None,
    build_base_ref: str | None = None,
) -> str:
    """Build `spec` for `platform` on top of `base_ref`; returns its platform tag
    (<sha>-linux-arm64). A failure moves no tag."""
    platform = platform or platforms.native()
    if revision.dirty:
        print(
            f"warning: the work tree has uncommitted changes; {spec.name} is tagged "
            f"{revision.sha[:12]} but holds them too",
            file=sys.stderr,
        )
    argv = command(graph, spec, revision, base_ref, build_client, platform, build_base_ref)
    print(f"building {spec.name} for {platform.name} from {base_ref}", file=sys.stderr, flush=True)
    try:
        proc.run_echoed(argv, env=build_client.env, cwd=str(graph.root))
    except subprocess.CalledProcessError as exc:
        raise BuildError(
            f"building {spec.name} failed (exit {exc.returncode}); no tag was moved",
            "read the build output above for the failing step",
        ) from None
    return tags.platform_tag(graph, spec.name, revision.sha, platform)
