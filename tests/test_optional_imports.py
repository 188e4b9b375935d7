"""engine.cli.optional_imports: a declined import fails inside the block and works after it."""

from __future__ import annotations

import sys

import pytest

from engine.cli.optional_imports import declined


def test_a_declined_module_raises_import_error_only_inside_the_block():
    name = "json.tool"  # stdlib, importable, not imported by the test session
    sys.modules.pop(name, None)
    with declined(name), pytest.raises(ImportError):
        __import__(name)
    assert name not in sys.modules
    __import__(name)
    assert name in sys.modules


def test_a_module_already_imported_is_left_alone():
    import json

    with declined("json"):
        import json as again

        assert again is json
    assert sys.modules["json"] is json


def test_importing_the_simulator_leaves_vectorbts_quantstats_adapter_alone():
    """A notebook user who imports the engine gets vectorbt unmodified (issue 18): the
    simulator used to decline quantstats while vectorbt loaded, which blacklists vectorbt's
    quantstats adapter for the whole session."""
    import subprocess
    import sys

    code = "import engine.core.simulate_kernel, vectorbt.returns as r; print(r.__blacklist__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
