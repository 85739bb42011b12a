"""The pytest plugin stays out of the way of a test file that cannot even be collected."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_a_collection_error_is_reported_as_pytest_reports_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="import not_a_module_anywhere\n\ndef test_it(): ...\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert "ModuleNotFoundError: No module named 'not_a_module_anywhere'" in output
    result.assert_outcomes(errors=1)
