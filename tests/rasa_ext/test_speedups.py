"""The Rasa server's check of action server replies: as strict as Rasa's, without its cost."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from rasa_ext import speedups

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]},
    {},
]
INVALID = [
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list"},
    {"responses": ["not an object"]},
]


@pytest.mark.parametrize("result", VALID)
def test_valid_replies_pass(result) -> None:
    assert speedups.validate_action_result(None, result) is True  # type: ignore[arg-type]


@pytest.mark.parametrize("result", INVALID)
def test_invalid_replies_fail_as_in_stock_rasa(result) -> None:
    with pytest.raises(ValidationError) as stock:
        validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(ValidationError, match="Failed to validate Action server response") as ours:
        speedups.validate_action_result(None, result)  # type: ignore[arg-type]
    assert ours.value.message.startswith(stock.value.message)


def test_the_rasa_server_gets_it_with_the_channels() -> None:
    import rasa_ext.channels  # noqa: F401  (credentials.yml loads it in the Rasa server)

    assert RemoteAction._validate_action_result is speedups.validate_action_result
