"""What simulated agents say and do: kinds, models, tools, and lines that read like real work."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    models: tuple[str, ...]
    tools: tuple[str, ...]
    titles: tuple[str, ...]
    lines: tuple[str, ...]
    input_tokens: tuple[int, int]  # context sent per step (mostly cached), min/max
    output_tokens: tuple[int, int]
    description: str = ""  # what agents of this kind are for, as they register it
    avatar: str = ""


FILES = ("auth/session.py", "api/routes/users.py", "billing/invoice.py", "web/src/Login.tsx",
         "infra/terraform/main.tf", "tests/test_checkout.py", "docs/runbook.md",
         "worker/queue.py", "search/indexer.go", "mobile/ios/AppDelegate.swift")

KINDS: dict[str, Kind] = {
    "coder": Kind(
        "coder", ("claude-sonnet-4-5", "gpt-5", "claude-sonnet-4"),
        ("Read", "Edit", "Bash", "Grep", "Glob", "Write"),
        ("fix login timeout on mobile", "add retry to the payment webhook",
         "migrate invoices to the v2 schema", "flaky test in checkout flow",
         "bump the ORM and fix deprecations", "rate-limit the public search API"),
        ("Reading {file} to see how the session cookie is set.",
         "The timeout comes from {file}: the retry loop never backs off.",
         "Running the test suite for {file}.", "Editing {file}: adding an exponential backoff.",
         "Tests pass locally (212 passed). Preparing the patch.",
         "Found two call sites that ignore the error; fixing both.",
         "Lint reports an unused import in {file}; removing it."),
        (3_000, 40_000), (100, 1_200),
        "Fixes bugs and ships small changes, tests first.", "🛠",
    ),
    "researcher": Kind(
        "researcher", ("gemini-2.5-pro", "claude-sonnet-4-5", "o3"),
        ("WebSearch", "WebFetch", "Read", "Grep"),
        ("compare vector databases for 10M docs", "summarise the SameSite cookie changes",
         "find prior art for idempotent webhooks", "survey OTLP exporters for Go"),
        ("Searching for recent write-ups on {topic}.",
         "Three sources agree on {topic}; one is dated.",
         "Fetched the RFC section on {topic}; summarising.",
         "Cross-checking the benchmark numbers against the vendor's docs.",
         "Drafting findings: two viable options, one risky."),
        (5_000, 60_000), (150, 1_000),
        "Reads widely and reports findings with sources.", "🔎",
    ),
    "reviewer": Kind(
        "reviewer", ("gpt-5", "claude-opus-4-1", "claude-sonnet-4-5"),
        ("Read", "Grep", "Bash"),
        ("review PR #312 (session cookies)", "review the billing migration",
         "security review of the upload endpoint", "review the Terraform plan for prod"),
        ("Reading the diff for {file}.", "Nit: {file} swallows the exception on line 88.",
         "The migration is not reversible; asking for a down step.",
         "Approving with two comments.", "Running the changed tests before approving."),
        (4_000, 30_000), (80, 800),
        "Reviews changes before they merge; asks before risky steps.", "🧐",
    ),
    "triager": Kind(
        "triager", ("claude-haiku-4-5", "gpt-5-mini", "gpt-4.1-mini"),
        ("Read", "Grep", "TicketSearch"),
        ("triage incoming bug reports", "label new support tickets",
         "deduplicate crash reports", "route on-call pages"),
        ("Ticket T-{n}: login loop on iOS 18; labelling as mobile/auth.",
         "Ticket T-{n} duplicates T-{m}; merging.", "Escalating T-{n}: payment failures in EU.",
         "Nothing actionable in T-{n}; asking the reporter for logs."),
        (1_000, 8_000), (50, 400),
        "Sorts incoming tickets and pages to the right team.", "🗂",
    ),
    "analyzer": Kind(
        "analyzer", ("claude-sonnet-4-5", "gpt-5"),
        ("Read", "Grep", "Glob", "Bash"),
        ("analyze the checkout latency regression", "analyze crash logs from last night",
         "analyze the slow queries report", "analyze the screenshot of the broken form"),
        ("Globbing for logs under {file}.", "Grepping the traces for {topic}.",
         "p95 went from {m} ms to {n} ms after the deploy.",
         "Correlating the spike with the cache hit rate.",
         "Writing up the analysis with the three likeliest causes."),
        (4_000, 30_000), (120, 800),
        "Digs into logs, traces and metrics to explain a regression.", "📈",
    ),
}

TOPICS = ("SameSite cookies", "webhook idempotency", "HNSW index build times",
          "OTLP batching", "token bucket rate limits", "SQLite WAL durability")

ERRORS = ("rate limited by the provider (429) after 5 retries",
          "tool Bash exited 1: tests failed (3 failures in test_checkout.py)",
          "context window exceeded while reading the repository",
          "permission denied writing infra/terraform/state")

WAIT_REASONS = ("needs input: which environment should the fix target?",
                "needs input: two conflicting requirements in the ticket",
                "needs credentials for the staging database")

APPROVALS = (("run the billing migration on production?", "Touches 1.2M invoice rows; reversible."),
             ("merge PR #312 to main?", "All checks green; one reviewer approved."),
             ("apply the Terraform plan to prod?", "3 to add, 1 to change, 0 to destroy."))
