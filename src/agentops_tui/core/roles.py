"""What a token's role lets its holder do, in the words the console uses when it cannot.

The server enforces roles (a 403 `forbidden`); the console learns its token's role from
`GET /api/v1/whoami` and offers only what the role may do, so no key is pressed just to earn
a refusal. `viewer` reads and streams; `operator` also acts on sessions, decides approvals,
acknowledges alerts and manages queues; `admin` also uses the killswitch and tokens.
"""

from __future__ import annotations

ROLE_RANK: dict[str, int] = {"viewer": 1, "operator": 2, "admin": 3}

# console action → the least role the request behind it needs (the server's `require(...)`)
NEEDED_ROLE: dict[str, str] = {
    "pause": "operator", "resume": "operator", "inject": "operator", "reply": "operator",
    "redirect": "operator", "kill": "operator", "spawn": "operator",
    "mark": "operator",  # marks only gather sessions for an action
    "approve": "operator", "reject": "operator", "undo": "operator",  # Review decisions
    "ack": "operator",  # POST /alerts/{id}/ack
    "kill_all": "admin",  # POST /killswitch
}

_LABELS = {"kill_all": "kill all", "ack": "acknowledging alerts", "mark": "marking sessions",
           "spawn": "spawning sessions"}


def _article(role: str) -> str:
    return "an" if role[:1] in "aeiou" else "a"


def allows(role: str | None, action: str) -> bool:
    """Whether `role` may take `action`. An unknown role (a server too old to say, or a
    role this console does not know) leaves the decision to the server, as before."""
    needed = NEEDED_ROLE.get(action)
    if role not in ROLE_RANK or needed is None:
        return True
    return ROLE_RANK[role] >= ROLE_RANK[needed]


def refusal(role: str | None, action: str) -> str | None:
    """Why the token may not take `action`, in one sentence; None when it may."""
    if allows(role, action) or role is None:
        return None
    if not acts(role):
        return f"this token is {_article(role)} {role}: it can watch, not act"
    needed = NEEDED_ROLE[action]
    what = _LABELS.get(action, action)
    return f"this token is {_article(role)} {role}: {what} needs {_article(needed)} {needed} token"


def acts(role: str | None) -> bool:
    """Whether the role may act on sessions at all (a viewer only watches)."""
    return allows(role, "pause")


def badge(role: str | None) -> str | None:
    """What the header says about the role: named only when it keeps the token from acting
    (an operator lacks only the killswitch, which its own key explains)."""
    return None if acts(role) else role
