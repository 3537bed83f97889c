"""Entities of a customer's turn as a saved story keeps them.

Personal data is masked before an editor sees it (``bot.privacy``): an order number becomes
``[order number]``. A placeholder in brackets is nothing the assistant extracts, and brackets are
Rasa's entity mark-up, so an entity whose value is personal data is saved with an example of the
same kind instead (``AM-100000``), which the assistant recognises as it would the real one:

- a training story or rule lists the entities under the intent (``- order_number: AM-100000``);
- a test story marks them in what the customer wrote (``where is [AM-100000](order_number)?``),
  so ``rasa test`` checks that the assistant finds them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from bot.privacy import mask, mask_value

EXAMPLES = {
    "[order number]": "AM-100000",
    "[email]": "customer@example.com",
    "[phone]": "+370 600 00000",
    "[card number]": "4000 0000 0000 0000",
}


def with_examples(text: str) -> str:
    """``text`` masked, each placeholder replaced by its example."""
    text = mask(text)
    for placeholder, example in EXAMPLES.items():
        text = text.replace(placeholder, example)
    return text


def value_of(value: Any) -> Any:
    """An entity's value as a story keeps it: personal data as its example; None, numbers and
    booleans as they are."""
    value = mask_value(value)
    return with_examples(value) if isinstance(value, str) else value


def listed(entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The entities as a training story or rule lists them (the name alone when no value)."""
    return [
        {"entity": e["entity"]} if e.get("value") is None else {**e, "value": value_of(e["value"])}
        for e in entities
    ]


def marked(
    text: Optional[str], entities: List[Dict[str, Any]], where: str
) -> Tuple[Optional[str], List[Dict[str, Any]], List[str]]:
    """A test story's customer message with each entity found in it: the text (placeholders of
    marked entities replaced by examples), the entities with ``start`` and ``end``, and the
    problems of entities that are not in the text. A message that is a button's payload
    (``/intent{...}``) carries its entities itself."""
    if not entities or text is None:
        return text, [], []  # a test story without the message checks the intent alone
    if text.startswith("/"):
        return with_examples(text), listed(entities), []
    message: str = text
    found: List[Dict[str, Any]] = []
    problems: List[str] = []
    position = 0
    for entity in entities:
        value = mask_value(entity.get("value"))
        start = message.find(value, position) if isinstance(value, str) and value else -1
        if start < 0:
            problems.append(
                f"{where}: the message does not contain the {entity['entity']} "
                f"'{value if value is not None else ''}', so a test story cannot mark it: "
                "drop that entity or the turn."
            )
            continue
        shown = value_of(value)
        message = message[:start] + shown + message[start + len(value) :]
        found.append({"entity": entity["entity"], "value": shown, "start": start})
        found[-1]["end"] = start + len(shown)
        position = start + len(shown)
    return message, found, problems


def read_as(event_entities: List[Dict[str, Any]]) -> List[Tuple[str, Any]]:
    """Entities as compared after Rasa reads a story back: (name, value), in order."""
    return [(str(e.get("entity")), e.get("value")) for e in event_entities]
