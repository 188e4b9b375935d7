"""A command's whole job in one call: compute, store the folder, draw its pages (run, sweep,
scenario). Used by the CLI, the API and the gallery.

Imports `engine.reports`, `engine.sweep`, `engine.runs` and the layers below.
"""
