"""Two Rasa server processes behind one port (``SANIC_WORKERS=2``), as an operator scales out:
each conversation is handled one message at a time whichever process gets a message, and a model
approved later reaches both processes without a restart (the web app is their model server)."""

from __future__ import annotations

import itertools
import shutil
import threading
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from benchmarks.load import process_name, process_tree
from bot.handoff.rasa_api import RasaClient
from bot.retraining import serving
from bot.retraining.runner import every_process_runs
from bot.stack import Stack


@pytest.fixture(scope="module")
def workers(tmp_path_factory, model: Path) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("workers")
    stack = Stack(folder, model, env={"SANIC_WORKERS": "2"})
    stack.setup_database()
    stack.start()
    yield stack
    stack.stop()


def rasa_processes(root: int) -> List[int]:
    """The processes under ``root`` that run ``rasa run``."""
    return [pid for pid in process_tree(root) if process_name(pid) == "rasa server"]


def user_texts(tracker: Dict) -> List[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_several_processes_keep_each_conversation_in_order(workers: Stack) -> None:
    assert workers.process is not None
    assert len(rasa_processes(workers.process.pid)) >= 3  # Sanic's main process and 2 workers
    customers = [f"workers-{n}-0123456789ab" for n in range(6)]
    questions = ["hello", "how long does a refund take?", "where is my order", "thanks"]
    replies: Dict[str, List[List[Dict]]] = {c: [] for c in customers}
    failures: List[BaseException] = []

    def converse(customer: str) -> None:
        try:
            for question in questions:
                replies[customer].append(workers.say(customer, question))
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    # One more customer sends three messages at once: the processes must take them in turn.
    burst = "workers-burst-0123456789ab"
    burst_texts = ["what is your returns policy", "can I pay by card", "do you ship to Latvia"]

    def send(text: str) -> None:
        try:
            workers.say(burst, text)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=converse, args=(c,)) for c in customers]
    threads += [threading.Thread(target=send, args=(t,)) for t in burst_texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    for customer in customers:
        assert all(replies[customer]), f"{customer} got an empty reply"
        assert user_texts(workers.tracker(customer)) == questions
    events = workers.tracker(burst)["events"]
    assert sorted(user_texts(workers.tracker(burst))) == sorted(burst_texts)
    # One message at a time: the bot acted on each message before the next one was read.
    kinds = [e["event"] for e in events if e["event"] in ("user", "action")]
    users = [i for i, kind in enumerate(kinds) if kind == "user"]
    assert all(b - a > 1 for a, b in itertools.pairwise(users)), kinds


def test_a_new_model_reaches_every_process(workers: Stack) -> None:
    """The retraining's last step with several processes: name the approved model to the model
    server; each process pulls and loads it (here a copy of the model under a new name)."""
    rasa = RasaClient(workers.url, workers.token)
    copy = workers.models_dir / "amberline-e2e-workers-copy.tar.gz"
    shutil.copyfile(workers.model, copy)
    serving.serve(workers.models_dir, copy)
    assert every_process_runs(rasa, copy.name, 2, timeout=240)
    reply = workers.say("workers-after-0123456789ab", "how long does a refund take?")
    assert reply and any(m.get("text") for m in reply)


def test_the_widget_keeps_its_connection_with_several_processes(workers: Stack, browser) -> None:
    """Socket.io's long-polling sends each request on its own, to whichever process is free, and
    a process refuses a session another opened (the load generator's polling-only client could
    not hold one). The widget connects over a websocket first, one connection on one process;
    long-polling only where a websocket cannot be opened."""
    from playwright.sync_api import expect

    from tests.e2e.conftest import watch_problems
    from tests.e2e.test_widget_browser import FIRST_REPLY, chat, last_from, say

    for _ in range(4):  # new customers: each connection lands on either process
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            problems = watch_problems(page)
            sockets: List[str] = []
            polls: List[str] = []
            page.on("websocket", lambda socket, seen=sockets: seen.append(socket.url))
            page.on(
                "request",
                lambda request, seen=polls: seen.append(request.url)
                if "transport=polling" in request.url
                else None,
            )
            page.goto(f"{workers.web_url}/")
            page.get_by_role("button", name="Chat with us").click()
            say(page, "How many days do I have to return something?")
            expect(last_from(page, "bot")).to_contain_text("Did this help?", timeout=FIRST_REPLY)
            bot = chat(page).locator("li.message.bot")
            before = bot.count()
            say(page, "do you deliver to Latvia")  # the same connection, a second time
            expect(bot.nth(before)).to_be_visible(timeout=FIRST_REPLY)
            assert problems == []
            # one websocket to Rasa's socket.io, no long-polling request
            assert [u for u in sockets if "/socket.io/" in u and "transport=websocket" in u]
            assert polls == []
        finally:
            context.close()
