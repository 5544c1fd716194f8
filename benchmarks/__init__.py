"""Speed benchmarks of the local-first core (run: ``python -m benchmarks``)."""
