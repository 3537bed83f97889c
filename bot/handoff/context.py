"""The context a person needs to take over a conversation, built from Rasa's tracker events.

Events are plain dicts as Rasa sends them to the action server, so this module needs no Rasa.
What goes in follows PRODUCT.md's "Full context": the transcript with times and authors, what the
bot understood, which articles it showed (and their ratings), the reason and the last question,
who the customer is as far as verified, and the language, channel, page and device.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterable, List, Mapping, Optional

CONTEXT_VERSION = 1
MAX_TRANSCRIPT = 200
MAX_TEXT = 2000
# Button payloads are not what a customer typed; show what they clicked in words.
PAYLOAD_WORDS = {
    "/affirm": "(clicked) Yes, it helped",
    "/deny": "(clicked) No, it didn't help",
    "/request_human": "(clicked) Talk to a person",
    "/none_of_these": "(clicked) None of these",
}


def event_time(event: Mapping[str, Any]) -> Optional[str]:
    stamp = event.get("timestamp")
    if stamp is None:
        return None
    return dt.datetime.fromtimestamp(float(stamp), tz=dt.timezone.utc).isoformat()


def display_text(text: Optional[str]) -> str:
    """What the customer said, in words: a button they clicked by its meaning, not its payload."""
    text = text or ""
    for prefix, words in PAYLOAD_WORDS.items():
        if text.startswith(prefix):
            return words
    if text.startswith("/choose_article"):
        return "(clicked) a suggested article"
    return text[:MAX_TEXT]


def transcript_of(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Who said what and when: the customer, the bot, an agent (by name), or the system."""
    lines: List[Dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            lines.append(
                {
                    "time": event_time(event),
                    "author": "customer",
                    "text": display_text(event.get("text")),
                    "intent": intent.get("name"),
                }
            )
        elif kind == "bot" and event.get("text"):
            meta = event.get("metadata") or {}
            author = meta.get("author") if meta.get("author") in ("agent", "system") else "bot"
            text = str(event["text"])[:MAX_TEXT]
            line = {"time": event_time(event), "author": author, "text": text}
            if author == "agent":
                line["name"] = str(meta.get("display_name") or "")[:100]
            lines.append(line)
    return lines


REASON_WORDS = {
    "asked_for_person": "the customer asked for a person",
    "not_understood_twice": "the bot did not understand twice in a row",
    "negative_feedback": "the customer said answers did not help",
    "frustration": "the customer sounded frustrated",
    "sensitive_topic": "a sensitive topic",
    "order_lookup_failed": "the order could not be verified",
}


def summary_of(context: Mapping[str, Any]) -> str:
    """Three short lines an agent reads in five seconds: wants, bot tried, why handed off."""
    wants = context.get("last_question") or "(no question typed)"
    tried = []
    for article in context.get("articles") or []:
        verdict = {True: "helped", False: "did not help", None: "not rated"}[article.get("helpful")]
        tried.append(f"{article.get('article_id')} ({verdict})")
    customer = context.get("customer") or {}
    who = "not verified"
    if customer.get("verified"):
        name = customer.get("name") or customer.get("email")
        who = f"verified: {name}, order {customer.get('order_number')}"
    reason = str(context.get("reason") or "")
    return "\n".join(
        [
            f"Wants: {wants}",
            f"Bot tried: {', '.join(tried) if tried else 'no article shown'}",
            f"Handed off: {REASON_WORDS.get(reason, reason)}; customer {who};"
            f" language {context.get('language')}",
        ]
    )


def build_context(
    events: Iterable[Mapping[str, Any]],
    *,
    conversation_id: str,
    reason: str,
    slots: Mapping[str, Any],
    language: str = "en",
    ratings: Iterable[Mapping[str, Any]] = (),
) -> Dict[str, Any]:
    """The handoff package as JSON-ready data (versioned by ``CONTEXT_VERSION``)."""
    events = list(events)
    transcript = transcript_of(events)
    understood: List[Dict[str, Any]] = []
    articles: List[Dict[str, Any]] = []
    last_question: Optional[str] = None
    channel: Optional[str] = None
    metadata: Dict[str, Any] = {}
    for event in events:
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or ""
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
            understood.append(
                {
                    "text": display_text(text),
                    "intent": intent.get("name"),
                    "confidence": round(float(intent.get("confidence") or 0.0), 4),
                    "entities": [
                        {"entity": e.get("entity"), "value": e.get("value")}
                        for e in parse.get("entities") or []
                    ],
                }
            )
            if not text.startswith("/") and intent.get("name") not in (
                "request_human",
                "affirm",
                "deny",
                "greet",
                "thank",
            ):
                last_question = text[:MAX_TEXT]
            channel = event.get("input_channel") or channel
            metadata.update(event.get("metadata") or {})
        elif kind == "bot":
            data = event.get("data") or {}
            custom = data.get("custom") or {}
            if isinstance(custom, dict) and "kb_answer" in custom:
                answer = dict(custom["kb_answer"])
                answer["time"] = event_time(event)
                articles.append(answer)
    rated = {(r["article_id"], r["version"]): r["helpful"] for r in ratings}
    for article in articles:
        article["helpful"] = rated.get((article.get("article_id"), article.get("version")))
    verified = bool(slots.get("order_verified"))
    customer = {
        "name": slots.get("customer_name") if verified else None,
        "email": slots.get("order_email") if verified else None,
        "order_number": slots.get("order_number") if verified else None,
        "verified": verified,
    }
    context = {
        "version": CONTEXT_VERSION,
        "conversation_id": conversation_id,
        "reason": reason,
        "last_question": last_question,
        "language": language,
        "channel": channel,
        "page": metadata.get("page"),
        "device": metadata.get("device") or metadata.get("user_agent"),
        "customer": customer,
        "transcript": transcript[-MAX_TRANSCRIPT:],
        "understood": understood[-MAX_TRANSCRIPT:],
        "articles": articles,
    }
    context["summary"] = summary_of(context)
    return context
