"""The default user is not root, owns its home and has no password."""


def test_default_user_is_analyst_with_uid_1000_not_root(host) -> None:
    assert host.user().name == "analyst"
    assert host.user().uid == 1000
    assert host.check_output("id -u") != "0"


def test_default_user_owns_its_home(host) -> None:
    home = host.file("/home/analyst")
    assert home.user == "analyst" and home.is_directory


def test_default_user_has_no_usable_password(host, root_host) -> None:
    assert host.run("getent shadow analyst").rc != 0, "the notebook user can read /etc/shadow"
    password_field = root_host.check_output("getent shadow analyst").split(":")[1]
    assert password_field.startswith(("!", "*")), "analyst has a usable password"
