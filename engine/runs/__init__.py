"""One backtest and its inputs: run configs, where a strategy comes from, loading the panel,
running one config or many scenario paths, and the run-folder store.

Imports `engine.markets`, `engine.data`, `engine.core`, `engine.io`, `engine.errors`.
"""
