"""集中排查: the campaigns a person sees, starting one (base committee), and a campaign's dashboard with its
phases, progress per branch, what is late and the burndown of open cases drawn as inline SVG."""
from __future__ import annotations

from fastapi import APIRouter, Request

from casework.campaigns import start_campaign
from casework.workbench import campaigns_for, dashboard
from models.codes import CampaignPhase
from models.errors import Refusal

from .. import render
from ..deps import form_of, now_of, require_user, store_of, text

router = APIRouter(include_in_schema=False)


@router.get("/campaigns")
def campaigns_page(request: Request):
    user = require_user(request)
    with store_of(request).reading() as s:
        rows = campaigns_for(s, user.actor())
    return render.page(request, "campaigns.html", rows=rows, phases=[(p.value, p.label) for p in CampaignPhase],
                       values={})


@router.post("/campaigns")
async def campaign_start(request: Request):
    user = require_user(request)
    form = await form_of(request, user)
    phases = {p.value: text(form, f"phase_{p.value}", 20) for p in CampaignPhase if text(form, f"phase_{p.value}", 20)}
    campaign_id = text(form, "campaign_id", 64)
    try:
        start_campaign(store_of(request), request_id=text(form, "request_id", 100) or None, actor=user.actor(),
                       now=now_of(request), campaign_id=campaign_id, org_id=user.org_id or "",
                       name=text(form, "name", 100), start_date=text(form, "start_date", 10), phases=phases)
    except Refusal as exc:
        with store_of(request).reading() as s:
            rows = campaigns_for(s, user.actor())
        return render.page(request, "campaigns.html", status=409, rows=rows, errors={"start": exc.text},
                           phases=[(p.value, p.label) for p in CampaignPhase],
                           values={k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"})
    return render.redirect(f"/campaigns/{campaign_id}")


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: str):
    user = require_user(request)
    with store_of(request).reading() as s:
        board = dashboard(s, user.actor(), campaign_id, now_of(request))
    return render.page(request, "campaign.html", b=board, chart=burndown_svg(board.burndown))


def burndown_svg(points: list[tuple[str, int]], width: int = 340, height: int = 160) -> dict:
    """Coordinates for an inline SVG line of open cases per day (no script, no library)."""
    if not points:
        return {"path": "", "width": width, "height": height, "max": 0, "first": "", "last": ""}
    top = max(n for _, n in points) or 1
    pad, w, h = 28, width - 36, height - 34
    xs = [pad + (w * i / max(len(points) - 1, 1)) for i in range(len(points))]
    ys = [8 + h - h * n / top for _, n in points]
    path = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    return {"path": path, "width": width, "height": height, "max": top, "first": points[0][0],
            "last": points[-1][0], "now": points[-1][1], "base_y": 8 + h, "left": pad, "right": pad + w}
