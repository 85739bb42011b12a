"""A boot file that exists but imports a module that is not installed."""

import smd_module_that_is_not_installed  # noqa: F401

from orchestrator import Boot

boot = Boot("imports-missing")
