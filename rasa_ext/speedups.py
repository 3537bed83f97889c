"""Fixes for costs in stock Rasa 3.6 that a profiler found under load (benchmarks/README.md).

``RemoteAction._validate_action_result`` checks every action server reply with
``jsonschema.validate(result, schema)``, and ``jsonschema.validate`` first validates the *schema*
against its meta-schema, on every call. The schema is a constant: under load this check was
about 30% of the Rasa server's busy time (py-spy, ``python -m benchmarks.profile``). Here the
validator is built once; replies are checked exactly as before (the same error, picked by
``jsonschema.exceptions.best_match`` as ``validate`` does, with Rasa's message added).

``install()`` runs in the Rasa server only (``rasa_ext.channels`` calls it on import), never in the
action server, which must not import Rasa.
"""

from __future__ import annotations

import functools
from typing import Any, Dict

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_INSTALLED = False


@functools.lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """Rasa's check of an action server reply, with the schema's validator built once.

    Raises:
        ValidationError: the reply does not have the format Rasa expects.
    """
    error = best_match(_action_result_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Replace the method on Rasa's class (once per process)."""
    global _INSTALLED
    if not _INSTALLED:
        RemoteAction._validate_action_result = validate_action_result
        _INSTALLED = True


__all__ = ["ValidationError", "install", "validate_action_result"]
