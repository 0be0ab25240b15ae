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
