"""Fixtures for every test (the helpers themselves are in helpers.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import Workspace


@pytest.fixture(autouse=True)
def allow_private_addresses(monkeypatch) -> None:
    """The test servers listen on 127.0.0.1, which the fetch policy refuses unless allowed: allowed for
    every test (tests of the policy itself remove it, or use ``strict_policy``)."""
    monkeypatch.setenv("POLICY_TRACKER_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("POLICY_TRACKER_ADD_TRY", "0")  # `add` fetches its page; tests reach only 127.0.0.1


@pytest.fixture
def strict_policy(monkeypatch) -> None:
    """The fetch policy as users get it: private and loopback addresses refused."""
    monkeypatch.delenv("POLICY_TRACKER_ALLOW_PRIVATE", raising=False)


@pytest.fixture
def shared_root():
    """A folder another user may enter (pytest's tmp_path is private to root): for
    ``Workspace.run_unprivileged``."""
    root = Path(tempfile.mkdtemp(prefix="pt-shared-"))
    root.chmod(0o755)
    yield root
    for p in [root, *root.rglob("*")]:  # what a test made read-only can be removed again
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    w = Workspace(tmp_path)
    w.policies.mkdir()
    return w
