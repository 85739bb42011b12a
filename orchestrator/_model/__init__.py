"""The model: phases, plans, reports, diagnostics and events; pure data, no I/O, no anyio."""
