"""Speed and memory of playbook, each measured against a reference in the same run.

`python -m benchmarks` (see `benchmarks/__main__.py`) prints a table and writes it as JSON to
`benchmarks/results/latest.json`, with the machine it ran on. Nothing here is part of the
test run: `tests/test_benchmarks.py` only checks that the references agree with the engine
and that the runner works on its cheapest measurement.
"""
