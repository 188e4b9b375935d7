"""Files in and out, safely: bounded YAML, names that stay inside their folder, outputs
written whole or not at all, YAML -> validated models with one-line errors, progress.

Bottom layer: imports only `engine.errors` (and libraries).
"""
