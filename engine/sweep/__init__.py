"""Parameter sweeps: many parameter sets through the same path as `playbook run`, in resumable
chunks, summarised with the deflated Sharpe, PBO and walk-forward.

Imports `engine.runs` and the layers below it; never reports (pages are drawn by workflows).
"""
