"""Fixtures of the module tests (see tests/support/aws_stubs.py)."""

from __future__ import annotations

from tests.support.aws_stubs import fast_retries, stubbed_clients  # noqa: F401  pylint: disable=unused-import
