"""Ready-made phases built on the public API of orchestrator."""
