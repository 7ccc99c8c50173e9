"""Notices of new work outside Review: one of a kind on screen at a time, the rest counted
into the next."""

from __future__ import annotations

from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.tui.notices import NOTICE_SECONDS, NewWorkNotices


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Feed:
    def __init__(self) -> None:
        self.fleet = Fleet()
        self.next_id = 1

    def approvals(self, *ids: str) -> Changes:
        changes = Changes()
        for approval_id in ids:
            self.fleet.apply(self.next_id, "approval.requested", 1.0,
                             {"approval_id": approval_id, "session_id": "se-1",
                              "summary": f"ship {approval_id}?"}, changes)
            self.next_id += 1
        return changes


def said(notices: NewWorkNotices) -> list[str]:
    return [n.message for n in notices.due()]


def test_approvals_in_the_first_snapshot_are_not_new() -> None:
    feed, notices = Feed(), NewWorkNotices(Clock())
    notices.saw(feed.fleet, feed.approvals("ap-1", "ap-2"), reviewing=False, first=True)
    assert said(notices) == []
    notices.saw(feed.fleet, feed.approvals("ap-1"), reviewing=False, first=False)
    assert said(notices) == []  # already known, even when touched again


def test_approvals_arriving_while_a_notice_shows_go_into_the_next_one() -> None:
    clock = Clock()
    feed, notices = Feed(), NewWorkNotices(clock)
    notices.saw(feed.fleet, feed.approvals("ap-1", "ap-2"), reviewing=False, first=False)
    assert said(notices) == ["2 new approvals — press 5 to review"]
    clock.t += 1
    notices.saw(feed.fleet, feed.approvals("ap-3"), reviewing=False, first=False)
    clock.t += 1
    notices.saw(feed.fleet, feed.approvals("ap-4"), reviewing=False, first=False)
    assert said(notices) == []
    clock.t += NOTICE_SECONDS - 2
    assert said(notices) == ["2 new approvals — press 5 to review"]
    assert said(notices) == []


def test_on_review_nothing_is_announced_and_nothing_saved_for_later() -> None:
    clock = Clock()
    feed, notices = Feed(), NewWorkNotices(clock)
    notices.saw(feed.fleet, feed.approvals("ap-1"), reviewing=True, first=False)
    breach = Changes(other={"sla.breached"})
    notices.saw(feed.fleet, breach, reviewing=True, first=False)
    assert said(notices) == []
    notices.saw(feed.fleet, Changes(), reviewing=False, first=False)
    assert said(notices) == []


def test_sla_breaches_are_told_once_per_window_beside_approvals() -> None:
    clock = Clock()
    feed, notices = Feed(), NewWorkNotices(clock)
    changes = feed.approvals("ap-1")
    changes.other.add("sla.breached")
    notices.saw(feed.fleet, changes, reviewing=False, first=False)
    assert [(n.title, n.severity) for n in notices.due()] == [
        ("Needs you", "information"), ("Deadline missed", "warning")]
    notices.saw(feed.fleet, Changes(other={"sla.breached"}), reviewing=False, first=False)
    assert said(notices) == []
    clock.t += NOTICE_SECONDS
    assert said(notices) == ["SLA breached on a task — press 5 to review"]


def test_a_token_that_cannot_decide_is_not_told_it_is_needed() -> None:
    feed, notices = Feed(), NewWorkNotices(Clock())
    notices.saw(feed.fleet, feed.approvals("ap-1"), reviewing=False, first=False)
    [notice] = notices.due(acting=False)
    assert (notice.title, notice.message) == ("Waiting for an operator",
                                              "1 new approval — press 5 to review")
