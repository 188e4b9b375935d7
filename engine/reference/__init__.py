"""Dated reference facts embedded as data (from shared/reference)."""
