"""Interactive HTML pages people look at first: a run's page and a sweep's report.

Part of `engine.reports`: imports `engine.sweep`, `engine.runs` and the layers below.
"""
