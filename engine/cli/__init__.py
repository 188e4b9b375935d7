"""The `playbook` command: one module per command group, shared options defined once.

Top layer: may import every engine package. Library side effects (numba's cache folder, gc
thresholds, declined optional imports) happen in `main`, never when `engine` is imported.
"""

from engine.cli.app import cli, main

__all__ = ["cli", "main"]
