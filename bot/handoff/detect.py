"""A safety net under the NLU model: does a message ask for a person?

The model recognises requests for a person in most wordings; when it misses one ("agent please"),
the message reaches the knowledge base, which checks these patterns first, so that the way to a
person stays open whatever the wording (PRODUCT.md, principle 1). English, Lithuanian, Latvian
and Polish; accents optional.
"""

from __future__ import annotations

import re

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
