"""Giving a conversation back to the bot in Rasa, reliably.

The database says who owns a conversation; Rasa's pause enforces it. When a handoff closes, the
tracker must be resumed. If Rasa does not accept the call (down, restarting), the handoff is
marked ``pending_rasa = "resume"`` and the web app's background task retries until it does, so
that the customer is never left with a silent, paused bot.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot import db
from bot.handoff.models import Handoff
from bot.handoff.ownership import is_open
from bot.handoff.queue import open_handoff
from bot.handoff.rasa_api import RasaClient, RasaUnavailable

logger = logging.getLogger(__name__)
BACK_TO_BOT = (
    "You're back with the Amberline assistant. Ask me anything, or ask for a person again at any"
    " time."
)


def give_back(
    session: Session,
    rasa: RasaClient,
    handoff: Handoff,
    *,
    text: Optional[str] = BACK_TO_BOT,
    state: Optional[Dict[str, Any]] = None,
) -> bool:
    """Resume the bot in Rasa, tell the customer, mark the handoff synced; False when Rasa did
    not accept (the handoff stays marked for the background retry)."""
    try:
        rasa.resume(handoff.conversation_id, text=text)
        if state is not None:
            rasa.notify(handoff.conversation_id, {"handoff": state})
    except RasaUnavailable:
        logger.warning("conversation %s: not resumed in Rasa; will retry", handoff.conversation_id)
        mark(session, handoff.pk, "resume")
        return False
    mark(session, handoff.pk, None)
    return True


def mark(session: Session, pk: int, pending: Optional[str]) -> None:
    session.execute(
        update(Handoff)
        .where(Handoff.pk == pk)
        .values(pending_rasa=pending)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def retry_pending(engine: Engine, rasa: RasaClient) -> List[str]:
    """Resume every closed handoff whose resume Rasa has not accepted yet; the conversations
    resumed now."""
    done = []
    with db.session_scope(engine) as session:
        pending = (
            session.execute(select(Handoff).where(Handoff.pending_rasa == "resume")).scalars().all()
        )
        for handoff in pending:
            if is_open(handoff.status) or open_handoff(session, handoff.conversation_id):
                mark(session, handoff.pk, None)  # a person has it again: the bot stays paused
                continue
            if give_back(
                session, rasa, handoff, state={"status": "bot", "reference": handoff.reference}
            ):
                done.append(handoff.conversation_id)
    return done
