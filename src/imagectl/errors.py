"""The failures the tool reports: each carries its cause and the fix, and maps to an exit code."""


class ImageToolError(Exception):
    """A failure the user can act on; `main` prints it with its hint instead of a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n  fix: {self.hint}" if self.hint else text


class ConfigError(ImageToolError):
    """images.yml or a file it names is missing or malformed, or an image name is unknown."""

    exit_code = 2


class EngineError(ImageToolError):
    """No Docker engine can be reached or started, or no BuildKit-capable client exists."""

    exit_code = 3


class BuildError(ImageToolError):
    """A build (or the base image it needs) failed; no tag was moved."""

    exit_code = 4


class RegistryError(ImageToolError):
    """A registry refused, could not be reached, or a tag would be overwritten."""

    exit_code = 5


class ContentsError(ImageToolError):
    """What an image holds could not be listed (no such image, or no python3 in it)."""

    exit_code = 6


class CiConfigError(ImageToolError):
    """A GitLab CI file, or the inputs an include passes to one, is not what GitLab accepts."""

    exit_code = 7


class UpdateError(ImageToolError):
    """An update could not be proposed (its push refused), or what it built failed its tests."""

    exit_code = 8
