"""What people look at: the quantstats tearsheet and its fixes, equity charts, the compare
page, the run page and sweep report (`pages/`), the scenario report, attribution by leg.

Reads run and sweep results; imports `engine.sweep`, `engine.runs` and the layers below.
"""
