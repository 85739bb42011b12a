"""A module whose import fails, to check the CLI reports it as a diagnostic."""

raise RuntimeError("configuration file missing: password=hunter2")
