"""The watcher: what changed in the four tables since its position, once, each change stamped with
a token to resume from; and the replay a reconnecting client gets, built the same way."""

from __future__ import annotations

from bot.handoff.models import HandoffNote
from bot.handoff.queue import apply
from bot.live.changes import Watcher, newest, replay
from bot.live.cursor import Token
from bot.live.hub import Hub
from tests.handoff.test_queue import agent, ask


async def test_the_watcher_sees_each_change_once_and_stamps_it(engine, session, conversations):
    await conversations.customer("before", "said before the watcher started")
    watcher = Watcher(engine, engine, Hub(), every=1)
    start = watcher.start()
    assert start["t"] > 0 and watcher.poll() == ([], start)

    first, _ = ask(session, "w1")
    ona = agent(session)
    apply(session, first, "claim", actor=ona, agent_id=ona.pk)
    session.add(HandoffNote(handoff_pk=first.pk, author="Ona", text="VIP"))
    session.commit()
    await conversations.customer("w1", "hello?")
    await conversations.customer("no-handoff", "hi bot")

    changes, token = watcher.poll()
    assert [(c["kind"], c.get("action")) for c in changes] == [
        ("handoff", "request"),
        ("handoff", "claim"),
        ("note", None),
        ("line", None),
        ("line", None),
    ]
    w1, lonely = changes[3], changes[4]
    assert w1["handoff"] == first.pk and w1["line"]["text"] == "hello?"
    assert lonely["handoff"] is None and lonely["message"]["text"] == "hi bot"
    # Each stamp covers the changes before it and none after it.
    assert changes[0]["token"] == Token({"h": changes[0]["row"], "n": 0, "f": 0, "t": start["t"]})
    assert changes[2]["token"]["n"] == changes[2]["row"]
    assert changes[3]["token"]["t"] == w1["row"] < token["t"]
    assert token == newest(engine, engine)
    assert watcher.poll() == ([], token)  # nothing twice

    # A client that got the first change is replayed the rest, in the same shape.
    missed = replay(engine, engine, changes[0]["token"])
    assert [(c["table"], c["row"]) for c in missed] == [(c["table"], c["row"]) for c in changes[1:]]
    assert replay(engine, engine, Token(), limit=2) is None  # too much: reload instead
