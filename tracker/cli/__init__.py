"""The ``policy-tracker`` command.

``main.py`` holds the click group and the shared options; each stage registers its commands
from its own module so that the CLI grows with the pipeline without one giant file.
"""

from tracker.cli.main import cli, main  # noqa: F401

# Each import registers its commands on ``cli``.
from tracker.cli import core  # noqa: F401,E402
