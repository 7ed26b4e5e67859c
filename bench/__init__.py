"""Benchmarks: start-up, reindex, question latency, throughput and memory against baselines."""
