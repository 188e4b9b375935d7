"""Data sources, the point-in-time panel and the embedded synthetic market."""
