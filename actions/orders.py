"""Order-status self-service: a form for the order number and e-mail, then the lookup.

Nothing about an order is revealed unless both match; a wrong number and a wrong e-mail get the
same answer; a conversation gets ``max_order_lookups`` failed attempts.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import ConversationAction, in_session, settings
from bot.orders.lookup import describe, find_order, normalize_email, normalize_order_number

logger = logging.getLogger(__name__)

STATUS_RESPONSES = {
    "processing": "utter_order_processing",
    "in_transit": "utter_order_on_its_way",
    "out_for_delivery": "utter_order_on_its_way",
    "delayed": "utter_order_delayed",
    "ready_for_pickup": "utter_order_ready_for_pickup",
    "delivered": "utter_order_delivered",
    "cancelled": "utter_order_cancelled",
    "returned": "utter_order_returned",
}


def attempts_left(tracker: Tracker) -> int:
    return settings().max_order_lookups - int(tracker.get_slot("order_lookup_attempts") or 0)


class ValidateOrderStatusForm(FormValidationAction):
    """Normalises and checks the order number and e-mail as the customer types them."""

    def name(self) -> str:
        return "validate_order_status_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        # Out of attempts: ask nothing; action_check_order_status explains.
        return domain_slots if attempts_left(tracker) > 0 else []

    def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        number = normalize_order_number(str(value) if value is not None else None)
        if number is None:
            dispatcher.utter_message(response="utter_order_number_invalid")
        return {"order_number": number}

    def validate_order_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        email = normalize_email(str(value) if value is not None else None)
        if email is None:
            dispatcher.utter_message(response="utter_order_email_invalid")
        return {"order_email": email}


class ActionCheckOrderStatus(ConversationAction):
    """Looks the order up and answers with its status, or the same "not found" for any mismatch."""

    def name(self) -> str:
        return "action_check_order_status"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        reset = [SlotSet("order_number", None), SlotSet("order_email", None)]
        if attempts_left(tracker) <= 0:
            dispatcher.utter_message(response="utter_order_lookup_limit")
            return reset
        number: Optional[str] = tracker.get_slot("order_number")
        email: Optional[str] = tracker.get_slot("order_email")

        def lookup(session):
            order = find_order(session, number=number or "", email=email or "")
            return (describe(order), order.customer_name) if order is not None else None

        try:
            found = await in_session(lookup)
        except SQLAlchemyError:
            logger.exception("conversation %s: order lookup failed", tracker.sender_id)
            dispatcher.utter_message(response="utter_error")
            return reset
        if found is None:
            attempts = int(tracker.get_slot("order_lookup_attempts") or 0) + 1
            logger.info("conversation %s: order lookup mismatch (%d)", tracker.sender_id, attempts)
            if attempts >= settings().max_order_lookups:
                dispatcher.utter_message(response="utter_order_lookup_limit")
            else:
                dispatcher.utter_message(response="utter_order_not_found")
            dispatcher.utter_message(json_message={"order_status": {"found": False}})
            return [*reset, SlotSet("order_lookup_attempts", float(attempts))]
        order, customer_name = found
        dispatcher.utter_message(
            response=STATUS_RESPONSES.get(order["status"], "utter_order_other"),
            number=order["number"],
            status_text=order["status_text"],
            carrier=order["carrier"] or "our carrier",
            delivery_method=order["delivery_method"] or "delivery",
            tracking_number=order["tracking_number"] or "not yet available",
            expected_delivery=order["expected_delivery"] or "to be confirmed",
            items=", ".join(order["items"]) or "—",
        )
        dispatcher.utter_message(
            json_message={
                "order_status": {
                    "found": True,
                    "number": order["number"],
                    "status": order["status"],
                    "carrier": order["carrier"],
                    "expected_delivery": order["expected_delivery"],
                }
            }
        )
        logger.info("conversation %s: order %s shown", tracker.sender_id, order["number"])
        return [
            SlotSet("order_number", order["number"]),
            SlotSet("order_email", email),
            SlotSet("order_verified", True),
            SlotSet("customer_name", customer_name),
        ]
