"""The image runs natively on the platform it was built for: on an arm64 Mac or server its
Python and native libraries are aarch64 code, not x86_64 under emulation."""

from imagectl.platforms import Platform


def test_python_runs_as_the_images_own_architecture(host, platform: Platform) -> None:
    machine = host.check_output("python -c 'import platform; print(platform.machine())'")
    assert machine == platform.machine


def test_compiled_wheels_are_built_for_the_images_architecture(host, platform: Platform) -> None:
    # numpy's, lightgbm's and pyarrow's shared objects: ELF for the image's machine
    # located, not imported: an import of all three takes a minute under QEMU
    found = host.check_output(
        "python -c 'from importlib.util import find_spec; "
        'print(*(find_spec(name).origin for name in ("numpy", "lightgbm", "pyarrow")))\''
    )
    for module in found.split():
        package = module.rsplit("/", 1)[0]
        elf = host.check_output(
            f"find {package} -name '*.so*' -type f | head -1 | xargs head -c 20 | od -An -tx1"
        )
        machine = bytes.fromhex("".join(elf.split()))[18]
        assert machine == {"x86_64": 0x3E, "aarch64": 0xB7}[platform.machine], package


def test_the_standard_library_and_mecab_dictionary_were_compiled_at_build(host) -> None:
    # on another platform these are made by the build host's own tools (docker/native-tool):
    # the bytecode must be there and match its sources (compileall would have to rewrite a
    # stale one, which the notebook user cannot), the dictionary must be complete
    checked = host.check_output(
        "python -c 'import compileall; "
        'ok = compileall.compile_dir("/usr/lib/python3.13", quiet=2, maxlevels=0); '
        'print("fresh" if ok else "stale")\' '
        "&& find /usr/lib/python3.13/__pycache__ -name '*.cpython-313.pyc' | wc -l"
    )
    fresh, compiled = checked.split()
    assert fresh == "fresh" and int(compiled) > 100
    assert host.file("/var/lib/mecab/dic/ipadic-utf8/sys.dic").size > 40_000_000


def test_the_font_cache_made_at_build_is_valid_for_the_image(host) -> None:
    # fontconfig's cache (on another platform made by the build host's fc-cache): valid as it
    # is, so a plot's first font lookup does not rescan the Noto CJK fonts
    said = host.check_output("fc-cache --system-only --verbose 2>&1")
    directories = [
        line
        for line in said.splitlines()
        if line.startswith("/usr/share/fonts") and "looped directory" not in line
    ]
    assert any("noto" in line for line in directories), said
    assert all("existing cache is valid" in line for line in directories), said


def test_the_ca_certificates_are_linked_and_bundled(host) -> None:
    # made by update-ca-certificates at build (on another platform, the build host's run of
    # the image's own script): Python's TLS finds the bundle and the hashed links
    found = host.check_output(
        "python -c 'import ssl; print(len(ssl.create_default_context().get_ca_certs()))' "
        "&& ls /etc/ssl/certs | grep -c '[.]0$'"
    )
    bundled, linked = (int(n) for n in found.split())
    assert bundled > 100 and linked > 100
