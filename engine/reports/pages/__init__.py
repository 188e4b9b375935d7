"""Interactive HTML pages people look at first: a run's page and a sweep's report."""
