"""The link from a run's quantstats tearsheet to its run page (no plotly import: the
tearsheet path stays light)."""

from __future__ import annotations

import re

RUN_PAGE = "run.html"
TEARSHEET = "tearsheet.html"  # the quantstats tearsheet beside it (engine.reports.tearsheet)
LINK_MARK = "playbook-run-page-link"
LINK = (
    f'<p class="{LINK_MARK}" style="font:14px sans-serif;margin:8px 0">'
    f'<a href="{RUN_PAGE}">Run page: decisions, regimes, exposure and each leg\'s '
    "contribution</a></p>"
)


def with_run_page_link(page: str) -> str:
    """The tearsheet HTML with one link to run.html at the top of its body (idempotent)."""
    if LINK_MARK in page:
        return page
    match = re.search(r"<body[^>]*>", page)
    if match is None:
        return page
    return page[: match.end()] + LINK + page[match.end() :]
