"""The CLI's small boot with its database overridden, as a test would run it."""

from ok import boot as real

boot = real.override(database="in-memory")
