"""Benchmarks and demo data: a deterministic data generator, runners per figure, baselines and the report."""
