"""The tests' PostgreSQL: a throwaway cluster per test run (`conftest.postgres`), or one of
their own for the tests that stop it. The tests fail, loudly, when PostgreSQL cannot be
started: CI installs it (.ci/run)."""

from agentops_tui.bench.pg_cluster import Cluster, running_cluster

__all__ = ["Cluster", "running_cluster"]
