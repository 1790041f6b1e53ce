"""Switchboard's test suite: API, console and security tests, and their shared helpers (support/)."""

import pytest

# The helpers' assertions fail tests as the tests' own do, so pytest should explain them as well;
# by itself it rewrites only test modules, conftests and plugins. Before tests.support is imported.
pytest.register_assert_rewrite("tests.support")
