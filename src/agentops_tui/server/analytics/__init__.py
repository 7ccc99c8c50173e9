"""Costs, metrics and the rollups they read."""
