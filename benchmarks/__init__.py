"""Side-by-side performance runs; `make bench` runs them all and prints ratios."""
