"""Fixtures for action tests: a real database with the shipped content, real Rasa SDK trackers."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from bot import db
from bot.kb.sources import import_sources, load_sources
from bot.orders.lookup import load_demo_orders
from bot.settings import PROJECT_ROOT, get_settings


@pytest.fixture
def action_db(tmp_path, monkeypatch) -> Iterator[str]:
    """The actions' database: migrated, with the shipped articles and demo orders."""
    url = f"sqlite:///{tmp_path / 'actions.db'}"
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    get_settings.cache_clear()
    common.live_index.cache_clear()
    db.upgrade(url)
    engine = db.get_engine(url)
    with db.session_scope(engine) as session:
        import_sources(session, load_sources(PROJECT_ROOT / "data" / "kb")[0])
        load_demo_orders(session, PROJECT_ROOT / "data" / "orders.yml")
    yield url
    get_settings.cache_clear()
    common.live_index.cache_clear()
    db.get_engine.cache_clear()
    engine.dispose()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(
    text: str = "",
    *,
    intent: str = "faq",
    confidence: float = 0.9,
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    ranking: Optional[Dict[str, float]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    sender: str = "test-conversation",
) -> Tracker:
    """A tracker whose latest message is ``text`` as Rasa would have parsed it."""
    message: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
    }
    if ranking is not None:
        message["response_selector"] = {
            "faq": {
                "ranking": [
                    {"intent_response_key": f"faq/{a}", "confidence": c} for a, c in ranking.items()
                ]
            }
        }
    user_event = {
        "event": "user",
        "text": text,
        "timestamp": time.time(),
        "parse_data": message,
        "input_channel": "rest",
    }
    return Tracker(
        sender_id=sender,
        slots={"kb_misses": 0.0, "order_lookup_attempts": 0.0, **(slots or {})},
        latest_message=message,
        events=(events or []) + [user_event],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def customs(dispatcher: CollectingDispatcher, key: str) -> List[Dict[str, Any]]:
    return [
        m["custom"][key]
        for m in dispatcher.messages
        if isinstance(m.get("custom"), dict) and key in m["custom"]
    ]


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m["response"] for m in dispatcher.messages if m.get("response")]


@pytest.fixture
def handoff_config(tmp_path, monkeypatch) -> Iterator[Callable[[Callable[[str], str]], None]]:
    """Call with a function of handoff.yml's text: the actions then use the edited file."""
    from bot.handoff.config import get_config

    def use(edit: Callable[[str], str]) -> None:
        path = tmp_path / "handoff.yml"
        path.write_text(edit((PROJECT_ROOT / "handoff.yml").read_text()))
        monkeypatch.setenv("BOT_HANDOFF_CONFIG", str(path))
        get_config.cache_clear()

    yield use
    from bot.handoff.config import get_config as reset

    reset.cache_clear()
