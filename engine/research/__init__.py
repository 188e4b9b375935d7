"""Questions about the theses: do the articles' claims reproduce, the verdict per playbook
(docs/results.md), why a strategy moved (explain), vintage sensitivity, page screenshots.

Imports `engine.workflows` and every layer below.
"""
