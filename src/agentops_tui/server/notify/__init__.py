"""Notifications: rules from the config file's `[[notify]]` tables route committed events
(approvals, sessions waiting, alerts, SLA breaches, budgets, failed commands) to apprise
channels, each rule with its filters, cooldown and batching; every delivery is logged.

- `rules`: the rule model, loading and saving the `[[notify]]` tables;
- `masking`: channel URLs carry secrets; what may be shown of one;
- `routing`: which committed events need the operator, and what to tell them;
- `delivery`: one thread per rule sends through apprise, off the writer and the event loop;
- `log`: the `notifications` table (the delivery log) and its reads.
"""
