"""The ``policy-tracker`` command.

``main.py`` holds the click group and the shared options; each stage registers its commands
from its own module (imported here for that side effect) so the CLI grows with the pipeline.
"""

from tracker.cli import (
    add,  # noqa: F401  (registers commands)
    check,  # noqa: F401
    demo,  # noqa: F401
    diff,  # noqa: F401
    doctor,  # noqa: F401
    documents,  # noqa: F401
    feeds,  # noqa: F401
    history,  # noqa: F401
    registry,  # noqa: F401
    run,  # noqa: F401
    tagcmd,  # noqa: F401
)
from tracker.cli.main import cli, main

__all__ = ["cli", "main"]
