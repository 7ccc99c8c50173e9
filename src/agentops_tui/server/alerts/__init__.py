"""Alerting: rules, the feeds they read, their configuration and the engine."""
