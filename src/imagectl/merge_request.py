"""The merge request an update opens: one `git push` whose push options ask GitLab to create
it (`merge_request.create`, `.target`, `.title`, `.description`, `.remove_source_branch`), so
no API call and no API token are needed.

The push authenticates with a project access token (role Developer or higher, scope
`write_repository`) from the masked CI/CD variable UPDATE_PUSH_TOKEN. A credential helper
reads it from the environment when git asks, so it is never on a command line, in the
remote's URL, in `.git/config` or in the job's log. A push made with the job's own
CI_JOB_TOKEN would be refused, and would start no pipeline for the merge request.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from imagectl import proc
from imagectl.errors import UpdateError

TOKEN_VARIABLE = "UPDATE_PUSH_TOKEN"
DRAFT_PREFIX = "Draft: "
# git sends each push option as one pkt-line (at most 65516 bytes) and refuses options with a
# newline; GitLab turns a literal \n in the description back into a line break. A longer
# report is cut here, pointing at the whole report in the job's artifacts.
MAX_DESCRIPTION_BYTES = 30_000
_CUT_NOTE = "\n\n(cut: the whole report is the update job's artifact build/update/report.md)"
# Reads the token when git asks for a password; `oauth2` is the user name GitLab expects
# with a token. The helper is a shell function, so the value never reaches an argv.
_HELPER = f'!f() {{ echo username=oauth2; echo "password=${{{TOKEN_VARIABLE}}}"; }}; f'


@dataclass(frozen=True)
class MergeRequest:
    source_branch: str
    target_branch: str
    title: str
    description: str
    draft: bool = False

    @property
    def full_title(self) -> str:
        """The title GitLab shows; `Draft: ` makes it a draft, which cannot be merged."""
        return f"{DRAFT_PREFIX}{self.title}" if self.draft else self.title


def encode_description(text: str, limit: int = MAX_DESCRIPTION_BYTES) -> str:
    r"""`text` as one push option: newlines written as a literal \n, cut to `limit` bytes."""
    encoded = text.strip().replace("\r", "").replace("\n", "\\n")
    if len(encoded.encode()) <= limit:
        return encoded
    note = _CUT_NOTE.replace("\n", "\\n")
    room = limit - len(note.encode())
    cut = encoded.encode()[:room].decode(errors="ignore")
    if cut.endswith("\\"):  # half of a \n
        cut = cut[:-1]
    return cut + note


def push_options(request: MergeRequest) -> list[str]:
    return [
        "merge_request.create",
        f"merge_request.target={request.target_branch}",
        f"merge_request.title={request.full_title}",
        f"merge_request.description={encode_description(request.description)}",
        "merge_request.remove_source_branch",
    ]


def push_url(env: dict[str, str] | None = None) -> str:
    """Where the branch goes: the project's HTTPS URL in a GitLab job (the checkout's own
    origin carries the job token, which may not push), else the repository's origin."""
    env = dict(os.environ) if env is None else env
    server, project = env.get("CI_SERVER_URL"), env.get("CI_PROJECT_PATH")
    if server and project:
        return f"{server.rstrip('/')}/{project}.git"
    return "origin"


def open_request(root: Path, request: MergeRequest) -> None:
    """Push HEAD to `request.source_branch` (replacing an earlier update of the same day) with
    the push options that open the merge request. A refused push raises with git's words."""
    env = dict(os.environ)
    url = push_url(env)
    if url != "origin" and not env.get(TOKEN_VARIABLE):
        raise UpdateError(
            f"{TOKEN_VARIABLE} is not set, so the update cannot push its branch",
            f"add a project access token (scope write_repository, role Developer) as the "
            f"masked CI/CD variable {TOKEN_VARIABLE}",
        )
    argv = ["git"]
    if env.get(TOKEN_VARIABLE):  # the first, empty helper drops any configured before it
        argv += ["-c", "credential.helper=", "-c", f"credential.helper={_HELPER}"]
    argv += ["push", "--porcelain"]
    for option in push_options(request):
        argv += ["-o", option]
    argv += [url, f"+HEAD:refs/heads/{request.source_branch}"]
    # The options hold the whole report: echo the command without them.
    proc.echo([*argv[: argv.index("push") + 1], "-o", "...", url, argv[-1]])
    result = subprocess.run(
        argv,
        cwd=root,
        env={**env, "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True,
        text=True,
    )
    for line in (result.stdout + result.stderr).splitlines():
        print(line, file=sys.stderr, flush=True)
    if result.returncode != 0:
        said = [
            line.strip()
            for line in result.stderr.splitlines()
            if line.startswith(("remote:", "error:", "fatal:", " ! ")) or "rejected" in line
        ]
        said += [line.strip() for line in result.stdout.splitlines() if line.startswith("!")]
        raise UpdateError(
            f"the remote refused the push of {request.source_branch}: "
            + (" / ".join(said) or f"git push exited {result.returncode}"),
            "read the remote's message above: a protected branch pattern, a push rule or a "
            f"token without write_repository ({TOKEN_VARIABLE}) are the usual causes",
        )
