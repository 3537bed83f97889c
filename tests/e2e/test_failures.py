"""When a part fails, the customer is told, never left in silence."""

from __future__ import annotations

import pytest

from bot.stack import Stack
from tests.e2e.conftest import custom, texts

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack_without_actions(tmp_path_factory, model):
    """The Rasa server with its action server down (nothing listens on the action port)."""
    stack = Stack(tmp_path_factory.mktemp("no-actions"), model, rasa_only=True)
    stack.setup_database()
    stack.start()
    yield stack
    stack.stop()


def test_action_server_down_gets_an_apology(stack_without_actions) -> None:
    reply = stack_without_actions.say("down-1", "How many days do I have to return something?")
    assert custom(reply, "error") == "no_reply"
    assert "something went wrong" in texts(reply)


def test_replies_without_actions_still_work(stack_without_actions) -> None:
    assert "virtual assistant" in texts(stack_without_actions.say("down-2", "hello"))
