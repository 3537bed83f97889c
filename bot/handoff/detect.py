"""Reading a message for what must go to a person: a request for one, a sensitive topic, anger.

The NLU model recognises requests for a person in most wordings; when it misses one ("agent
please"), the message reaches the knowledge base, which checks these patterns first, so that the
way to a person stays open whatever the wording (PRODUCT.md, principle 1). Sensitive topics and
frustration are the triggers of handoff.yml. English, Lithuanian, Latvian and Polish; accents
optional.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Pattern, Sequence

from bot.kb.text import fold

# Who the customer wants (folded: lower-case, no accents; Polish ł is mapped to l below).
_PERSON = (
    r"(human|humans|person|people|agent|agents|operator\w*|representative|rep|someone|somebody|"
    r"staff|employee|colleague|manager|supervisor|consultant|konsultant\w*|advisor|adviser|"
    r"live chat|customer service|support team|"
    r"zmog\w*|darbuotoj\w*|"  # Lithuanian
    r"cilvek\w*|darbiniek\w*|"  # Latvian
    r"czlowiek\w*|ludz\w*|pracownik\w*)"  # Polish
)
# Asking for them.
_ASK = (
    r"(talk|talking|speak|speaking|chat|chatting|connect|transfer|put me through|get me|"
    r"give me|want|need|prefer|let me|can i have|could i have|call me|"
    r"kalbet\w*|susisiek\w*|noriu|"  # Lithuanian
    r"runat|sazin\w*|gribu|velos|"  # Latvian
    r"rozmaw\w*|porozmaw\w*|chce|polacz\w*|prosze)"  # Polish
)
_SHORT = re.compile(rf"^((a|an|the|real|live|actual|proper) )*{_PERSON}( please| pls| now| asap)?$")
_REQUEST = re.compile(rf"\b{_ASK}\b.*\b{_PERSON}\b|\b{_PERSON}\b.*\b(please|pls|now)\b")


def asks_for_person(text: str) -> bool:
    """True when ``text`` plainly asks for a person."""
    folded = fold(text).replace("ł", "l")
    if not folded or len(folded) > 300:
        return False
    return bool(_SHORT.match(folded) or _REQUEST.search(folded))


# Sensitive topics a person must handle (handoff.yml: triggers.sensitive_topic.topics). Only
# plain statements trigger them: "how do I make a GDPR request?" is answered from the knowledge
# base, "I want you to delete all my personal data" goes to a person.
SENSITIVE: Dict[str, Pattern[str]] = {
    "legal_threat": re.compile(
        r"\b(sue|suing|lawsuit|my lawyer|a lawyer|attorney|solicitor|legal action|legal steps|"
        r"take (you|this) to court|see you in court|report you to|"
        r"advokat\w*|teisma\w*|teism\w*|"  # Lithuanian / Latvian
        r"prawnik\w*|pozew\w*|pozwe\w*|do sadu)\b"  # Polish
    ),
    "account_security": re.compile(
        r"\b(hacked|hijacked|compromised|phishing|"
        r"(someone|somebody|stranger) (else )?(has )?(logged|got|broke|gotten) in(to)?\b"
        r".*\baccount|(someone|somebody) (else )?used my (card|account|password)|"
        r"unauthori[sz]ed (order|purchase|login|log in|access|payment|charge)s?|"
        r"i (did not|didn ?t|never) (make|place|order|buy|authori[sz]e)\w* (this|that|these|those|"
        r"the|an|any) (order|purchase|payment|charge)s?|"
        r"stolen (card|account|password|identity)|identity theft|"
        r"isilauz\w*|uzlauz\w*|"  # Lithuanian / Latvian "hacked"
        r"wlam\w*|zhakowa\w*)\b"  # Polish
    ),
    "data_protection": re.compile(
        r"\b(right to be forgotten|subject access request|dsar|data breach|"
        r"(leaked|sold|shared) my (personal )?(data|details|information)|"
        r"(art\.?|article) ?(15|17|20) (of )?(the )?gdpr|"
        r"i (want|demand|request|need|insist)( that)? (you )?(to )?(delete|erase|remove|wipe|"
        r"destroy)\w* (all )?(of )?my (personal )?(data|information|details)|"
        r"(delete|erase|wipe|remove) all (of )?my (personal )?(data|information))\b"
    ),
    "complaint": re.compile(
        r"\b(formal complaint|official complaint|"
        r"(i|we) (want|wish|would like|need|have) to (file|make|lodge|submit|raise|register) "
        r"(a|an|my) (formal |official )?complaint|"
        r"i( m| am) (filing|making|lodging|submitting) a complaint|this is a complaint|"
        r"i want to complain|i( m| am) complaining|"
        r"skund\w*|sudzib\w*|reklamacj\w* formaln\w*|skarg\w*)\b"
    ),
}

_FRUSTRATION = re.compile(
    r"\b(useless|ridiculous|terrible|horrible|awful|pathetic|unacceptable|disgrace\w*|outrageous|"
    r"fed up|sick (and tired )?of|waste of (my )?time|wtf|what the hell|what the fuck|"
    r"stupid|dumb|idiot\w*|furious|angry|pissed|frustrat\w*|not happy at all|"
    r"fuck\w*|shit\w*|crap\w*|bullshit|"
    r"nesamon\w*|siaubing\w*|"  # Lithuanian
    r"briesmig\w*|muljkib\w*|"  # Latvian
    r"beznadziej\w*|skandal\w*|wkurz\w*|kurwa)\b"  # Polish
)


def sensitive_topic(text: str, topics: Sequence[str] = tuple(SENSITIVE)) -> Optional[str]:
    """The first of ``topics`` that ``text`` plainly raises, or None."""
    folded = fold(text).replace("ł", "l")
    if not folded or len(folded) > 2000:
        return None
    for topic in topics:
        pattern = SENSITIVE.get(topic)
        if pattern is not None and pattern.search(folded):
            return topic
    return None


def sounds_frustrated(text: str) -> bool:
    """Anger or frustration in the words, or shouting (mostly capitals, or "!!!")."""
    if not text or len(text) > 2000:
        return False
    words = re.findall(r"[^\W\d_]{2,}", text)
    shouted = [w for w in words if w.isupper()]
    if (len(shouted) >= 3 and len(shouted) >= 0.6 * len(words)) or "!!!" in text:
        return True
    return bool(_FRUSTRATION.search(fold(text).replace("ł", "l")))
