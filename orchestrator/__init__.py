"""smd: Startup, Made Deterministic."""
