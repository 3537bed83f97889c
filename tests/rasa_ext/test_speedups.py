"""The Rasa server's speed-ups (rasa_ext/speedups.py): what Rasa does, without its cost."""

from __future__ import annotations

import ast
import gc
import inspect
import logging
import types
import uuid
import weakref

import numpy as np
import pytest
from jsonschema import ValidationError, validate
from rasa.core import processor
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


def event_samples() -> list:
    """One reply event of every kind an action server sends, as Rasa serialises them."""
    from rasa.shared.core import events as e

    samples = [
        e.BotUttered("hi", {"buttons": [{"title": "Yes", "payload": "/affirm"}]}),
        e.SlotSet("order_number", "AM-100482"),
        e.SlotSet("count", 3),
        e.ActionExecuted("action_listen"),
        e.FollowupAction("action_handoff"),
        e.UserUttered("hello", {"name": "greet", "confidence": 0.9}, []),
        e.ConversationPaused(),
        e.ConversationResumed(),
        e.AllSlotsReset(),
        e.Restarted(),
        e.ActiveLoop("order_form"),
        e.ActiveLoop(None),
        e.SessionStarted(),
        e.UserUtteranceReverted(),
        e.ActionReverted(),
        e.AgentUttered("a person will help"),
        e.ReminderCancelled(name="r"),
        e.EntitiesAdded([{"entity": "email", "value": "a@b.c"}]),
        e.DefinePrevUserUtteredFeaturization(True),
    ]
    return [s.as_dict() for s in samples]


def mutations(event: dict) -> list:
    """Wrongly typed copies of an event: every field in turn a list, a number, or null."""
    out = []
    for key in event:
        for wrong in ([1], 5, None, "text"):
            if event[key] != wrong:
                out.append({**event, key: wrong})
    return out


def test_the_compiled_check_and_jsonschema_agree_on_every_kind_of_reply() -> None:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    stock = validator_for(schema)(schema)
    replies = [{"events": [event], "responses": [{"text": "x"}]} for event in event_samples()]
    replies += [{"events": [wrong]} for event in event_samples() for wrong in mutations(event)]
    replies += INVALID + VALID + [{"events": [None]}, {"responses": [{"text": 5}]}, []]
    replies += [{"events": [{"timestamp": 1}]}, {"events": [{"event": ["slot"]}]}, {"events": 5}]
    replies += [{"events": [{"event": "slot", "name": "a", "value": 1}, "not an event"]}]
    assert speedups._compiled_checks_by_event() is not None  # Rasa's schema has the shape
    whole = speedups._compiled_action_result_check()
    refused = 0
    for reply in replies:
        try:
            whole(reply)
            whole_ok = True
        except Exception:
            whole_ok = False
        valid = stock.is_valid(reply)
        assert speedups.passes_compiled_check(reply) == whole_ok == valid, reply
        refused += not valid
    assert refused > 50  # the corpus holds many wrong replies, and they were refused


async def test_endpoint_calls_share_one_connection_pool_per_loop() -> None:
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    speedups.install()
    peers: list = []

    async def handle(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": []})

    app = web.Application()
    app.router.add_post("/webhook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-A": "1"})
        for _ in range(3):
            assert await endpoint.request(json={"next_action": "x"}, method="post") == {
                "events": []
            }
        assert len(peers) == 3 and len(set(peers)) == 1  # one kept connection
        session = endpoint.session()
        assert session.connector is speedups.shared_connector()
        await session.close()
        assert not speedups.shared_connector().closed  # a session's close keeps the pool
    finally:
        await runner.cleanup()


def test_is_empty_answers_as_stock_and_keeps_the_answer() -> None:
    from rasa.shared.core.domain import Domain

    speedups.install()
    empty = Domain.empty()
    assert empty.is_empty() and speedups._stock_is_empty(empty)
    full = Domain.from_dict({"intents": ["greet"], "responses": {"utter_hi": [{"text": "hi"}]}})
    assert not full.is_empty() and not speedups._stock_is_empty(full)
    assert vars(full)[speedups.IS_EMPTY] is False


def test_event_types_resolve_as_stock() -> None:
    from rasa.shared.core.events import Event, SlotSet, UserUttered
    from rasa.shared.utils.common import all_subclasses

    speedups.install()
    for cls in all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is speedups._stock_resolve_by_type(
            cls.type_name
        )
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nonsense", default=UserUttered) is UserUttered
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("nonsense")
    assert Event.from_parameters({"event": "slot", "name": "a", "value": 1}) == SlotSet("a", 1)


def test_the_minimal_schema_is_the_stock_one_and_kept() -> None:
    from rasa.engine.graph import GraphSchema, SchemaNode

    def node(needs: dict) -> SchemaNode:
        return SchemaNode(needs=needs, uses=object, constructor_name="create", fn="f", config={})

    schema = GraphSchema(
        {"a": node({}), "b": node({"x": "a"}), "c": node({"x": "a", "y": "b"}), "d": node({})}
    )
    speedups.install()
    first = schema.minimal_graph_schema(["c"])
    assert set(first.nodes) == set(speedups._stock_minimal_graph_schema(schema, ["c"]).nodes)
    assert set(first.nodes) == {"a", "b", "c"}
    assert schema.minimal_graph_schema(["c"]) is first
    assert set(schema.minimal_graph_schema(["d"]).nodes) == {"d"}


class Counted:
    """A graph node that records its runs and returns (its name, what it was given)."""

    def __init__(self, name: str, runs: list) -> None:
        self.name, self.runs = name, runs

    def __call__(self, *given: object) -> tuple:
        self.runs.append(self.name)
        return (self.name, given)


def rasa_shaped_graph(runs: list) -> dict:
    """Nodes as Rasa's runner builds them: (node, *needs); inputs as (name, value)."""
    return {
        "__message__": ("__message__", [{"text": "hi"}]),  # unhashable value
        "__flag__": ("__flag__", "yes"),  # hashable value
        "convert": (Counted("convert", runs), "__message__"),
        "tokens": (Counted("tokens", runs), "convert"),
        "counts": (Counted("counts", runs), "tokens", "__flag__"),
        "words": (Counted("words", runs), "tokens"),
        "classify": (Counted("classify", runs), "counts", "words", "tokens"),
        "unused": (Counted("unused", runs), "__flag__"),
    }


def test_the_graph_runs_as_dask_runs_it_each_node_once() -> None:
    import dask

    targets = ["classify", "words", "__flag__"]
    by_dask, ours = [], []
    expected = dask.get(rasa_shaped_graph(by_dask), targets)
    got = speedups.execute_graph(rasa_shaped_graph(ours), targets)
    assert list(got) == list(expected)
    assert sorted(ours) == sorted(by_dask)
    assert sorted(ours) == ["classify", "convert", "counts", "tokens", "unused", "words"]
    for node in ("convert", "tokens", "counts"):  # a node runs after what it needs
        assert ours.index(node) < ours.index("classify")


def test_an_error_in_a_node_reaches_the_caller_unchanged() -> None:
    def broken(*_: object) -> None:
        raise KeyError("no such slot")

    graph = {"__in__": ("__in__", 1), "a": (broken, "__in__"), "b": (Counted("b", []), "a")}
    with pytest.raises(KeyError, match="no such slot"):
        speedups.execute_graph(graph, ["b"])


def test_other_shapes_of_graph_go_to_dask() -> None:
    def add(*values: int) -> int:
        return sum(values)

    graph = {"x": 1, "y": (add, "x", 10), "z": (add, (add, "x", 1), "y")}  # nested task
    assert speedups.execute_graph(graph, ["z"]) == [13]
    with pytest.raises(RuntimeError):  # a cycle: dask's own error
        speedups.execute_graph({"a": (add, "b"), "b": (add, "a")}, ["a"])


def test_the_rasa_server_runs_graphs_without_dask_scheduling() -> None:
    from rasa.engine.runner.dask import DaskGraphRunner

    import rasa_ext.channels  # noqa: F401

    assert DaskGraphRunner.run is speedups.run_graph


def test_request_bodies_say_what_json_dumps_says() -> None:
    import json
    import math

    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    tracker = DialogueStateTracker.from_events(
        "customer <script>alert(1)</script>",
        [
            ActionExecuted("action_listen"),
            UserUttered(
                "Ar galiu grąžinti? 🙂 ' OR 1=1; -- </b> \u202e\x00",
                {"name": "faq", "confidence": 0.123456789012345678},
            ),
            SlotSet("misses", 1.0000000000000002),
            SlotSet("big", 2**53 + 1),
            BotUttered("https://amberline.example/returns", {"custom": {"kb_answer": None}}),
        ],
    )
    state = tracker.current_state(EventVerbosity.ALL)
    assert json.loads(speedups.json_dumps(state)) == json.loads(json.dumps(state))
    assert math.isnan(json.loads(speedups.json_dumps({"x": math.nan}))["x"])  # NaN, as json's
    assert json.loads(speedups.json_dumps({"n": 2**70})) == {"n": 2**70}
    with pytest.raises(TypeError):
        speedups.json_dumps({"x": object()})  # json.dumps's own error


def test_slots_copy_as_copy_copy_did() -> None:
    import copy

    from rasa.shared.core import slots

    from rasa_ext.speedups import copy_slot

    mapping = [{"type": "from_entity", "entity": "email"}]
    made = [
        slots.TextSlot("email", mapping, initial_value="a@b.c"),
        slots.FloatSlot("misses", mapping, initial_value=1.0, max_value=5.0),
        slots.BooleanSlot("handed_off", mapping),
        slots.ListSlot("topics", mapping, initial_value=["returns"]),
        slots.CategoricalSlot("language", mapping, values=["en", "lt"]),
        slots.AnySlot("context", mapping, influence_conversation=False),
    ]

    class Custom(slots.TextSlot):
        def __getstate__(self) -> dict:
            return {**vars(self), "copied_by_reduce": True}

    made.append(Custom("custom", mapping))
    for slot in made:
        copied = copy_slot(slot)
        assert type(copied) is type(slot)
        if isinstance(slot, Custom):
            assert vars(copied)["copied_by_reduce"]  # other classes: copy.copy's own way
            continue
        assert vars(copied) == vars(slot)
        copied.value = "changed"
        assert slot.value != "changed"  # its own value, as copy.copy gives
        assert copied.mappings is slot.mappings  # shallow, as copy.copy
    speedups.install()
    assert copy.copy(made[0]).value == "a@b.c"


def test_the_action_call_hands_over_the_latest_messages_embedding() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.kb.embeddings import EMBEDDING_KEY, default_encoder, loaded_encoder, unpack

    encoder = default_encoder()
    assert encoder is not None and loaded_encoder() is encoder
    # new to this process's encoder, whose cache file keeps what earlier runs computed
    text = f"how long does delivery to riga take {uuid.uuid4().hex}"
    tracker = DialogueStateTracker.from_events("c", [UserUttered(text, {"name": "faq"})])
    action = RemoteAction("action_answer_from_kb", None)
    domain = Domain.empty()
    # not computed in this process: nothing handed over
    body = speedups.action_call_format(action, tracker, domain)
    assert EMBEDDING_KEY not in body["tracker"]["latest_message"]
    vector = encoder.encode([text])[0]
    body = speedups.action_call_format(action, tracker, domain)
    handed = unpack(body["tracker"]["latest_message"][EMBEDDING_KEY], 384)
    assert handed is not None and handed[0] == text and np.array_equal(handed[1], vector)
    # the rest is stock Rasa's, and the conversation's event is not touched
    stock = speedups._stock_action_call_format(action, tracker, domain)
    del body["tracker"]["latest_message"][EMBEDDING_KEY]
    assert body == stock
    assert EMBEDDING_KEY not in tracker.latest_message.parse_data
    assert RemoteAction._action_call_format is speedups.action_call_format


def deepcopy_uses(module) -> tuple[int, int]:
    """How many ``copy.<name>`` uses the module's source has, and how many of them are
    ``copy.deepcopy(...)`` passed to ``structlogger.debug``."""
    tree = ast.parse(inspect.getsource(module))
    logged = set()
    for node in ast.walk(tree):
        call = node if isinstance(node, ast.Call) else None
        func = call.func if call is not None else None
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "debug"
            and isinstance(func.value, ast.Name)
            and func.value.id == "structlogger"
        ):
            for argument in [*call.args, *(k.value for k in call.keywords)]:
                for inner in ast.walk(argument):
                    if isinstance(inner, ast.Attribute) and inner.attr == "deepcopy":
                        logged.add(id(inner))
    uses = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "copy"
    ]
    return len(uses), sum(id(node) in logged for node in uses)


@pytest.mark.parametrize("module", speedups.LOG_SNAPSHOT_MODULES, ids=lambda m: m.__name__)
def test_the_modules_copy_only_for_debug_logs(module) -> None:
    total, logged = deepcopy_uses(module)
    assert total > 0
    assert logged == total


def test_log_snapshots_copy_only_when_debug_lines_are_written() -> None:
    import rasa_ext.channels  # noqa: F401  (installs the speed-ups)

    snapshots = processor.copy
    assert isinstance(snapshots, speedups.LogSnapshots)
    value = {"events": [{"event": "user", "parse_data": {"entities": []}}]}
    logger = logging.getLogger("rasa.core.processor")
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert snapshots.deepcopy(value) is value
        logger.setLevel(logging.DEBUG)
        copied = snapshots.deepcopy(value)
        assert copied == value
        assert copied is not value
        assert copied["events"][0] is not value["events"][0]
    finally:
        logger.setLevel(level)


class Cycle:
    """An object in a reference cycle, as a loaded model's objects are."""

    def __init__(self) -> None:
        self.me = self


def test_a_loaded_model_is_kept_out_of_full_collections_until_the_next_load(monkeypatch) -> None:
    from rasa.core.agent import Agent

    import rasa_ext.channels  # noqa: F401  (installs the speed-ups)

    assert Agent.load_model is speedups.load_model_and_freeze
    loads = []

    def stock_load(agent, model_path, fingerprint=None) -> None:
        agent.model = [Cycle() for _ in range(100)]
        loads.append((model_path, fingerprint))

    monkeypatch.setattr(speedups, "_stock_load_model", stock_load)
    agent = types.SimpleNamespace()
    try:
        speedups.load_model_and_freeze(agent, "models/a.tar.gz", "first")  # type: ignore[arg-type]
        assert loads == [("models/a.tar.gz", "first")]
        first = weakref.ref(agent.model[0])
        assert gc.get_freeze_count() > 0
        assert not any(
            o is agent.model[0] for o in gc.get_objects()
        )  # out of the collector's sight
        agent.model = None
        gc.collect()
        assert first() is not None  # a frozen cycle waits...
        speedups.load_model_and_freeze(agent, "models/b.tar.gz")  # type: ignore[arg-type]
        assert first() is None  # ...until the next load hands it back to the collector
        assert loads[-1] == ("models/b.tar.gz", None)
    finally:
        gc.unfreeze()
