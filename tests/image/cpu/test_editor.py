"""A terminal editor: `vim` (the real one, not vim-tiny) is the default EDITOR, VISUAL and git's
editor, and edits files in a terminal for the default user and for a remapped host UID."""

import json

import pytest
import testinfra


@pytest.fixture(
    params=["uid-1000", pytest.param("remapped-uid", marks=pytest.mark.same_on_every_platform)]
)
def user_host(request, host) -> tuple[testinfra.host.Host, int]:
    """(commands as the notebook user, its UID): in a default container, then in one started
    with another host UID (`--user root -e NB_UID=1234 -e NB_GID=2345`)."""
    if request.param == "uid-1000":
        return host, 1000
    remapped = request.getfixturevalue("remapped_jupyter")
    return testinfra.get_host(f"docker://analyst@{remapped.container.id}"), 1234


def test_vim_is_the_full_build(host) -> None:
    version = host.check_output("vim --version")
    assert version.startswith("VIM - Vi IMproved"), version[:200]
    assert "+syntax" in version and "Tiny version" not in version


def test_editor_visual_and_gits_editor_are_vim(user_host) -> None:
    user, _ = user_host
    assert user.check_output("printenv EDITOR VISUAL").split() == ["vim", "vim"]
    assert user.check_output("git var GIT_EDITOR") == "vim"


def test_vim_edits_a_file_non_interactively(user_host) -> None:
    user, uid = user_host
    result = user.run("vim -Es -c 'normal iHello, 世界' -c wq /tmp/ex-edit.txt")
    assert result.rc == 0, result.stdout + result.stderr
    edited = user.file("/tmp/ex-edit.txt")
    assert edited.content_string == "Hello, 世界\n"
    assert edited.uid == uid


# vim in a real terminal (a pty, as Jupyter's terminal gives it): type text, save with :wq.
# A warning that stops vim at "Press ENTER" (an unwritable ~/.viminfo, a missing terminfo)
# eats the keys or hangs, and shows up as a wrong file or a timeout.
IN_A_TERMINAL = r"""
import json, os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvpe("vim", ["vim", sys.argv[1]], {**os.environ, "TERM": "xterm-256color"})
screen = b""
def read_for(seconds):
    global screen
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: vim has exited and closed the terminal
                return False
            if not chunk:
                return False
            screen += chunk
    return True
read_for(1.5)  # vim draws its screen
os.write(fd, "iこんにちは vim\x1b:wq\r".encode())
hung = read_for(15)
if hung:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "hung": hung,
                  "screen": screen.decode(errors="replace")[-1500:]}))
"""


def test_vim_edits_and_saves_a_file_in_a_terminal(user_host) -> None:
    user, uid = user_host
    result = user.run("python -c %s /tmp/typed.txt", IN_A_TERMINAL)
    assert result.rc == 0, result.stderr
    out = json.loads(result.stdout)
    assert not out["hung"] and out["exit"] == 0, out["screen"]
    typed = user.file("/tmp/typed.txt")
    assert typed.content_string == "こんにちは vim\n", out["screen"]
    assert typed.uid == uid
