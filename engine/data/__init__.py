"""Where prices and macro series come from and how they become a point-in-time panel:
sources (CSV folders, Yahoo/FRED through a cache, ALFRED vintages), release lags, checks.

Imports `engine.core` (the Panel it builds), `engine.io`, `engine.errors`.
"""
