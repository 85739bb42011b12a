"""The engine: the scheduler, the lifecycle and the stop, on anyio."""
