"""playbook's engine: config -> data -> events -> strategy -> simulation -> report.

Packages by concern, each importing only those below it (checked by `lint-imports`, see
`[tool.importlinter]` in pyproject.toml): cli | api | testing > research > workflows >
reports > sweep > runs > markets > data > core > io > errors. Importing `engine` has no
side effects on other libraries: those belong to the CLI's entry (`engine.cli.app.main`).
"""

import os
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("playbook")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"


def numba_cache_dir() -> str:
    """Where numba keeps the compiled kernels between runs (numba creates it when needed).

    Set as NUMBA_CACHE_DIR by the CLI's entry point (`engine.cli.app`) and the tests'
    conftest, never when `engine` is imported: a notebook keeps numba's own settings."""
    from platformdirs import user_cache_dir

    return os.path.join(user_cache_dir("playbook"), "numba")
