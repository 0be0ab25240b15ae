"""The default user is not root, owns its home, has no password, and can take the host's UID."""

import json
import os
from pathlib import Path

import pytest


def test_default_user_is_analyst_with_uid_1000_not_root(host) -> None:
    assert host.user().name == "analyst"
    assert host.user().uid == 1000
    assert host.check_output("id -u") != "0"


def test_default_user_owns_its_home(host) -> None:
    home = host.file("/home/analyst")
    assert home.user == "analyst" and home.is_directory
    stray = host.check_output("find /home/analyst ! -user analyst")
    assert stray == "", f"not owned by analyst: {stray}"


def test_default_user_has_no_usable_password(host, root_host) -> None:
    assert host.run("getent shadow analyst").rc != 0, "the notebook user can read /etc/shadow"
    password_field = root_host.check_output("getent shadow analyst").split(":")[1]
    assert password_field.startswith(("!", "*")), "analyst has a usable password"


def test_nothing_is_world_writable_but_sticky_scratch_directories(root_host) -> None:
    # files: none; directories: only with the sticky bit (like /tmp)
    found = root_host.check_output(
        "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o "
        "\\( -type f -perm -0002 -print \\) -o \\( -type d -perm -0002 ! -perm -1000 -print \\)"
    )
    assert found == "", f"world-writable: {found}"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another UID")
@pytest.mark.same_on_every_platform
def test_host_uid_other_than_1000_owns_what_the_notebook_writes(start_container, tmp_path: Path):
    uid, gid = 1234, 2345
    project = tmp_path / "project"
    project.mkdir()
    os.chown(project, uid, gid)
    container = start_container(
        user="root",
        environment={"NB_UID": str(uid), "NB_GID": str(gid)},
        volumes={str(project): {"bind": "/home/analyst/work", "mode": "rw"}},
    )
    container.wait_healthy()
    top = container.container.top(ps_args="-o pid,uid,args")
    jupyter_uids = {p[1] for p in top["Processes"] if "jupyter-lab" in p[2]}
    assert jupyter_uids == {str(uid)}, top
    # what the notebook does when it saves: PUT through the contents API
    body = json.dumps({"type": "file", "format": "text", "content": "こんにちは"})
    put = container.host.run(
        "curl -s -o /dev/null -w '%%{http_code}' -X PUT -H %s -d %s "
        "http://127.0.0.1:8888/api/contents/saved.txt",
        f"Authorization: token {container.token}",
        body,
    )
    assert put.stdout == "201", put.stdout + put.stderr
    saved = project / "saved.txt"
    assert saved.read_text() == "こんにちは"
    assert (saved.stat().st_uid, saved.stat().st_gid) == (uid, gid)
