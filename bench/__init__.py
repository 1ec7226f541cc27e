"""Benchmarks and evaluations (run as scripts; importable by the tests)."""
