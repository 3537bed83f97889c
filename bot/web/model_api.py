"""The model server of the Rasa processes (``GET /api/rasa/model``), used when several serve.

Rasa's model-server protocol: a Rasa process asks with ``If-None-Match: <the name of the model it
runs>`` and gets 304 while that is still the model to run, else the model file with its name in
``ETag`` and ``filename``. Only for Rasa: the request carries Rasa's API token (``?token=``), as
Rasa sends it from its endpoint configuration. Which model: ``bot.retraining.serving``.
"""

from __future__ import annotations

import hmac
from typing import Optional

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from bot.retraining import serving
from bot.settings import rasa_token

router = APIRouter(tags=["rasa"])


@router.get("/api/rasa/model", include_in_schema=False)
def model(
    request: Request,
    token: str = Query("", max_length=200),
    if_none_match: Optional[str] = Header(None, max_length=300),
) -> Response:
    settings = request.app.state.settings
    if not hmac.compare_digest(token.encode(), rasa_token(settings).encode()):
        raise HTTPException(status_code=401, detail="Rasa's API token is needed")
    path = serving.serving(settings.models_dir)
    if path is None:
        raise HTTPException(status_code=404, detail="no trained model")
    if if_none_match == path.name:
        return Response(status_code=304, headers={"ETag": path.name})
    return FileResponse(
        path, media_type="application/gzip", headers={"ETag": path.name, "filename": path.name}
    )
