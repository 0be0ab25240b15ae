"""The image runs natively on the platform it was built for: on an arm64 Mac or server its
Python and native libraries are aarch64 code, not x86_64 under emulation."""

from imagectl.platforms import Platform


def test_python_runs_as_the_images_own_architecture(host, platform: Platform) -> None:
    machine = host.check_output("python -c 'import platform; print(platform.machine())'")
    assert machine == platform.machine


def test_compiled_wheels_are_built_for_the_images_architecture(host, platform: Platform) -> None:
    # numpy's, lightgbm's and pyarrow's shared objects: ELF for the image's machine
    found = host.check_output(
        "python -c 'import numpy, lightgbm, pyarrow, sys; "
        "print(numpy.__file__, lightgbm.__file__, pyarrow.__file__)'"
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
