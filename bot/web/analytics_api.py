"""The editors' analytics: the report as JSON and each of its tables as CSV. For the editor and
admin roles. What the numbers mean: docs/analytics.md; how they are computed: bot.analytics."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, Optional

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from bot.analytics import export, report
from bot.analytics.window import BadPeriod, Window, make_window
from bot.kb.embeddings import default_encoder
from bot.timeutil import utcnow
from bot.users import User
from bot.web.auth import requires

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/editor/analytics", tags=["editor"])
editor_only = requires("editor")
TABLE_NAMES = "|".join(export.TABLES)


def window_of(
    first: Optional[dt.date] = Query(
        None, alias="from", description="first day (YYYY-MM-DD); default: 29 days before `to`"
    ),
    last: Optional[dt.date] = Query(
        None, alias="to", description="last day, included (YYYY-MM-DD); default: today"
    ),
    bucket: str = Query("day", pattern="^(day|week)$", description="day, or week from Monday"),
    language: str = Query("", pattern="^(en|lt|lv|pl)?$", description="en, lt, lv, pl or all"),
    tz: str = Query(
        "UTC", max_length=64, description="the time zone of the days, e.g. Europe/Vilnius"
    ),
) -> Window:
    """The period of the request (raises BadPeriod, answered 422)."""
    return make_window(
        first=first, last=last, bucket=bucket, zone=tz, language=language or None, now=utcnow()
    )


def compute(request: Request, window: Window) -> Dict[str, Any]:
    state = request.app.state
    return report.build(
        state.engine,
        state.tracker_engine,
        window,
        default_language=state.settings.default_language,
        encoder=default_encoder(),
    )


@router.get("")
def analytics(
    request: Request, window: Window = Depends(window_of), me: User = Depends(editor_only)
) -> Dict[str, Any]:
    """The metrics of the period: ``summary``, ``series`` (one row per day or week),
    ``handoff_reasons``, ``articles`` and ``unanswered`` (the top unanswered topics grouped by
    meaning, personal data masked: each its most central wording, count, conversations and
    commonest ``wordings``; ``unanswered_left_out``: messages of rarer wordings not grouped).
    Rates are 0 to 1, or null when there is nothing to divide by; times in seconds."""
    return compute(request, window)


@router.get("/{name}.csv", response_class=Response)
def analytics_csv(
    request: Request,
    name: str = Path(..., pattern=f"^({TABLE_NAMES})$", description="a table of the report"),
    window: Window = Depends(window_of),
    me: User = Depends(editor_only),
) -> Response:
    """One table of the report as CSV (RFC 4180; cells a spreadsheet would run as a formula
    start with an apostrophe)."""
    text = export.table_csv(compute(request, window), name)
    filename = f"amberline-{name}-{window.first.isoformat()}-{window.last.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def bad_period(request: Request, error: BadPeriod) -> JSONResponse:
    return JSONResponse(
        {"detail": str(error), "problems": [{"field": error.field, "problem": str(error)}]},
        status_code=422,
    )


def add_error_handlers(app: FastAPI) -> None:
    """A period a report cannot cover: 422 with the parameter."""
    app.add_exception_handler(BadPeriod, bad_period)  # type: ignore[arg-type]
