"""Approvals end to end: an agent asks through the SDK, an operator decides, the agent goes on."""

from __future__ import annotations

import asyncio

from agentops_tui.sdk import AsyncAgentClient

from conftest import LiveServer
from waiting import until


async def test_request_wait_decide(live: LiveServer) -> None:
    viewer = live.token_for("viewer")
    async with AsyncAgentClient(live.url, live.token, "ag-1", kind="coder") as agent:
        session = agent.session("se-1", title="migrate")
        ask = asyncio.create_task(session.request_approval("run migration on prod?", "1.2M rows"))
        with live.client() as c:
            await until(lambda: c.get("/api/v1/approvals?status=pending").json()["approvals"])
            [pending] = c.get("/api/v1/approvals", params={"status": "pending"}).json()[
                "approvals"]
            assert pending["summary"] == "run migration on prod?"
            s = c.get("/api/v1/sessions/se-1").json()
            assert s["status"] == "waiting" and s["detail"].startswith("approval: run migration")
            with live.client(viewer) as v:
                assert v.post(f"/api/v1/approvals/{pending['id']}/approve").status_code == 403
            assert not ask.done()
            r = c.post(f"/api/v1/approvals/{pending['id']}/approve", json={"note": "go"})
            assert r.status_code == 200 and r.json()["status"] == "approved"
            result = await asyncio.wait_for(ask, 10)
            assert result.approved and result.note == "go" and result.decided_by == "test-admin"
            again = c.post(f"/api/v1/approvals/{pending['id']}/reject", json={"reason": "no"})
            assert again.status_code == 409
            assert c.get("/api/v1/sessions/se-1").json()["status"] == "running"
            entries = c.get("/api/v1/audit", params={"action": "approval."}).json()["entries"]
            # newest first: the late reject, the approval, the viewer's refused try
            assert [e["result"][:8] for e in entries] == ["rejected", "accepted", "rejected"]
            assert c.post("/api/v1/approvals/ap-nope/approve").status_code == 404
            assert c.get("/api/v1/approvals", params={"status": "maybe"}).status_code == 422


async def test_rejection_reaches_the_agent(live: LiveServer) -> None:
    async with AsyncAgentClient(live.url, live.token, "ag-2") as agent:
        session = agent.session("se-2")
        ask = asyncio.create_task(session.request_approval("delete the bucket?"))
        with live.client() as c:
            await until(lambda: c.get("/api/v1/approvals?status=pending").json()["approvals"])
            approval_id = c.get("/api/v1/approvals").json()["approvals"][0]["id"]
            c.post(f"/api/v1/approvals/{approval_id}/reject",
                   json={"reason": "not today"}).raise_for_status()
        result = await asyncio.wait_for(ask, 10)
        assert (result.approved, result.status, result.note) == (False, "rejected", "not today")
