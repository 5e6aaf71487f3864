"""Fixtures of the role tests: ``role_preflight``, the one bad-input harness
(tests/support/role_preflight.py)."""

from __future__ import annotations

import pytest

from tests.support.role_preflight import RolePreflight


@pytest.fixture
def role_preflight(playbook, tmp_path):
    return RolePreflight(playbook, tmp_path)
