"""Errors meant for the user: one clear line, exit status 2, never a traceback."""

from __future__ import annotations


class TrackerError(Exception):
    """Bad input (declaration, file, option): reported as one line, exit status 2."""

    exit_code = 2


class DeclarationError(TrackerError):
    """A policies/*.toml file is invalid. The message names the file and the key."""
