"""Skip the optional imports a library makes when it loads but the engine never uses.

vectorbt imports, through plotly, ipywidgets for `FigureWidget`; quantstats imports IPython
for notebook display and seaborn imports ipywidgets for notebook widgets. Each sits behind
`try/except ImportError`; the engine calls none of them (it simulates with vectorbt's numba
functions and draws tearsheets into files). The `playbook` command declines IPython and
ipywidgets for its whole run (`engine.cli.app`): importing vectorbt and quantstats took
1.88-1.90 s instead of 2.24-2.29 s here (2026-12, `-X importtime`, three runs each).
Importing `engine` in a notebook declines nothing. (vectorbt's own import of quantstats,
for its `.qs` adapter, is not declined: the report needs quantstats anyway, and declining
it in the engine blacklisted the adapter for notebooks, 1e6c92c.)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def declined(*names: str) -> Iterator[None]:
    """While the block runs, `import name` raises ImportError for each name not imported yet
    (the libraries above go without it); afterwards each imports as usual."""
    added = [name for name in names if name not in sys.modules]
    for name in added:
        sys.modules[name] = None  # type: ignore[assignment]  # "import halted": ImportError
    try:
        yield
    finally:
        for name in added:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
