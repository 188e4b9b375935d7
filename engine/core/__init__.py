"""The strategy contract and what runs it: the panel a strategy sees, the Strategy/Event/
Context/Params contract, the event walk (`schedule`), the simulator and the metrics.

Imports `engine.io` and `engine.errors` only. Strategies import this package; it never
imports them.
"""
