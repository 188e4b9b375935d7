"""playbook's engine: config -> data -> events -> strategy -> simulation -> report."""

import os
import sys
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("playbook")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"


def numba_cache_dir() -> str:
    """Where numba keeps the compiled kernels between runs (numba creates it when needed)."""
    from platformdirs import user_cache_dir

    return os.path.join(user_cache_dir("playbook"), "numba")


# Set here, before any module of the engine (or of strategies/, which imports the engine
# first) imports numba: numba reads it at its own import. A user's setting wins.
os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())
if "numba" in sys.modules:  # imported first by someone else: have it read the setting again
    sys.modules["numba"].core.config.reload_config()
