"""Errors the user can act on. The CLI prints them as one line; the GUI shows a dialog."""


class SnnStudioError(Exception):
    """Base class of every error that is the user's input, not a bug.

    The message is always one line: line breaks in it (often from a third-party exception
    quoted inside) become spaces, so the CLI prints one line and a dialog one paragraph.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(" ".join(str(message).splitlines()))


class ConfigError(SnnStudioError):
    """A config file, key or value is wrong."""


class DatasetError(SnnStudioError):
    """A dataset folder or file is missing, malformed or unsafe."""


class TriggerError(SnnStudioError):
    """A trigger cannot be built or does not fit the images."""


class CheckpointError(SnnStudioError):
    """A checkpoint file is unreadable or does not match the model."""
