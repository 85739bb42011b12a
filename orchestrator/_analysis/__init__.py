"""Reading boots: critical chains, blame, predictions, charts, diffs and traces."""
