"""Benchmark suites of riskmodel, run with ``python -m benchmarks <suite>`` (see README.md).

Machines here are shared and noisy, so every speed figure is a ratio against a reference
timed in the same run, with the cases interleaved and the best of several rounds kept.
"""
