"""Dated reference facts embedded as data (from shared/reference): the Fed calendar, the
named regimes, the articles' claims. Data files only; no code imports from here.
"""
