"""Fixes for costs in stock Rasa 3.6 that a profiler found under load (benchmarks/README.md).

Each keeps what Rasa does and removes work it repeats for every message (py-spy,
``python -m benchmarks.profile``, shares of the Rasa server's busy time at 10 REST customers):

- ``RemoteAction._validate_action_result`` checks every action server reply with
  ``jsonschema.validate(result, schema)``, which first validates the constant *schema* against
  its meta-schema (about 30%). Then, with the validator built once, walking Rasa's ``oneOf`` over
  every event type was still about 10%. A reply is now checked by the schema compiled to Python
  once (``fastjsonschema``), each event only against the type its ``event`` names (compiled, that
  ``oneOf`` alone still cost 1.5 ms a reply); only a reply those checks refuse goes through
  ``jsonschema``, which has the last word and gives the error as before (``best_match``, with
  Rasa's message added).
- ``EndpointConfig.request`` opens a new HTTP session for every call to the action server, so
  each action paid for a DNS lookup and a new TCP connection (about 8%, and as much again in the
  action server). Sessions now share one connection pool per event loop, whose idle connections
  close after ``KEEPALIVE_SECONDS``, before Sanic's own 5 s keep-alive ends them. The request
  body, the whole conversation sent with every action call, is written by ``ujson`` (already
  pinned, Sanic's), which took a quarter of the time of ``json.dumps`` (about 6% before); what
  it cannot write (objects, huge numbers) is left to ``json.dumps``, errors and all.
- ``Domain.is_empty`` builds an empty domain and compares two ``as_dict()`` for every parsed
  message (about 2%); a loaded domain does not change, so the answer is kept on it.
- ``Event.resolve_by_type`` walks every subclass of ``Event`` for every event read back (about
  2%); the classes are looked up by their type name, and an unknown name walks again.
- ``GraphSchema.minimal_graph_schema`` works out the same nodes for the same targets on every
  graph run (parse and predict); it is kept per schema and targets.
- ``DialogueStateTracker`` copies every slot of the domain each time it is made, and the
  policies make trackers over and over while they replay a conversation (about 5% in
  ``copy.copy``'s generic reduce-and-rebuild). Rasa's own slot types are plain objects: they are
  copied the same way, directly (``copy_slot``); other slot classes as before.
- ``DaskGraphRunner.run`` hands each run's graph (a dozen nodes) to dask's synchronous
  scheduler, whose bookkeeping (ordering the tasks, tracking their state) cost about as much as
  a third of the components it ran (about 8%). Rasa's graphs need none of it: each node runs once,
  after the nodes it needs, in one thread. ``execute_graph`` does that, with the same inputs,
  results and errors; a graph of any other shape goes to dask as before. The run's debug line
  is built only when debug logging is on (it printed the tracker for every run).

- Rasa's processor and two policies pass ``copy.deepcopy`` of the conversation's events and
  states to ``structlogger.debug`` (a snapshot for the log), which evaluates them even when
  debug logging is off: about 0.2 ms a message, the deep copies of whole parse results.
  Those modules' ``copy`` is now ``LogSnapshots``, which copies only when their logger writes
  debug lines, and returns the value itself for a call that is thrown away; every ``copy.``
  in those modules is such a log argument (``tests/rasa_ext/test_speedups.py`` checks).

- Python's full garbage collection walks every object the process holds: half a million once
  Rasa, TensorFlow and a model are loaded, 240 ms here, during which the event loop answers no
  one. It ran about once per thousand messages, holding up every conversation in flight.
  ``Agent.load_model`` (at start and at every model swap) now ends with ``gc.freeze()``: what
  the model's load left is moved out of the collector's sight (a full collection then takes
  milliseconds). Objects stay freed by their reference counts as before; before the next load,
  ``gc.unfreeze()`` hands the old model's objects back to the collector, so a replaced model's
  reference cycles are still collected.

Not a fix but a hand-over: the action server computes the MiniLM embedding of the message it
answers from the knowledge base, which the Rasa server has just computed for the same text (about
4 ms of CPU each). ``RemoteAction._action_call_format`` now adds that vector to the action call's
``latest_message`` (``bot.kb.embeddings.pack``, 2 KB), and the action server uses it when it is
its own text's (``KnowledgeIndex.signals``). It is never stored in the conversation.

``install()`` runs in the Rasa server only (``rasa_ext.channels`` calls it on import), never in the
action server, which must not import Rasa.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import gc
import json
import logging
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, Union

import aiohttp
import dask
import fastjsonschema
import ujson
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core import processor as rasa_processor
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.policies import memoization as rasa_memoization
from rasa.core.policies import rule_policy as rasa_rule_policy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core import slots as rasa_slots
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from bot.kb.embeddings import EMBEDDING_KEY, loaded_encoder, pack

_INSTALLED = False
KEEPALIVE_SECONDS = 2.0


@functools.lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.lru_cache(maxsize=1)
def _compiled_action_result_check() -> Callable[[Any], Any]:
    return fastjsonschema.compile(RemoteAction.action_response_format_spec())


@functools.lru_cache(maxsize=1)
def _compiled_checks_by_event() -> Optional[Tuple[Callable[[Any], Any], Dict[str, Callable]]]:
    """The reply's check without its events, and one check per event type.

    Rasa's event schema is ``oneOf`` over 23 event types, each fixing ``event`` to its own
    constant: an event is valid exactly when the one type its ``event`` names accepts it (with the
    shared properties), and checking it against the other 22 only to see them refuse cost about
    1.5 ms per reply. None when the schema is not of that shape (then the whole is compiled).
    """
    spec = RemoteAction.action_response_format_spec()
    event_schema = spec["properties"]["events"]["items"]
    shared = {key: value for key, value in event_schema.items() if key != "oneOf"}
    by_type: Dict[str, Callable[[Any], Any]] = {}
    for kind in event_schema.get("oneOf", []):
        name = kind.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in by_type:
            return None
        by_type[name] = fastjsonschema.compile({"allOf": [shared, kind]})
    if not by_type:
        return None
    outer = {**spec, "properties": {**spec["properties"], "events": {"type": "array"}}}
    return fastjsonschema.compile(outer), by_type


def passes_compiled_check(result: Any) -> bool:
    """True when the compiled checks accept the reply (False: let jsonschema decide)."""
    checks = _compiled_checks_by_event()
    try:
        if checks is None:
            _compiled_action_result_check()(result)
            return True
        outer, by_type = checks
        outer(result)
        for event in result.get("events") or []:
            name = event.get("event") if isinstance(event, dict) else None
            if not isinstance(name, str) or name not in by_type:
                return False
            by_type[name](event)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """Rasa's check of an action server reply: compiled first, ``jsonschema`` if that refuses.

    Raises:
        ValidationError: the reply does not have the format Rasa expects.
    """
    if passes_compiled_check(result):
        return True
    # jsonschema decides, and words the error as stock Rasa does
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


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.TCPConnector] = (
    weakref.WeakKeyDictionary()
)


def shared_connector() -> Optional[aiohttp.TCPConnector]:
    """The running event loop's connection pool (None outside a loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    connector = _POOLS.get(loop)
    if connector is None or connector.closed:
        # limit=0: no cap on connections, as stock Rasa's one session per call had none
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS)
        _POOLS[loop] = connector
    return connector


def endpoint_session(self: EndpointConfig) -> aiohttp.ClientSession:
    """Stock ``EndpointConfig.session`` (headers, basic auth, timeout) on the shared pool."""
    auth = (
        aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        if self.basic_auth
        else None
    )
    connector = shared_connector()
    return aiohttp.ClientSession(
        headers=self.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=connector,
        connector_owner=connector is None,
        json_serialize=json_dumps,
    )


def json_dumps(value: Any) -> str:
    """JSON text of ``value``: ``ujson``'s, or ``json.dumps``'s for what ``ujson`` refuses."""
    try:
        return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(value)


_stock_action_call_format = RemoteAction._action_call_format


def action_call_format(self: RemoteAction, tracker: Any, domain: Domain) -> Dict[str, Any]:
    """Stock ``_action_call_format``, with the embedding of the latest message's text when this
    process has computed it (the pipeline's ``SentenceEmbeddingFeaturizer``)."""
    result: Dict[str, Any] = _stock_action_call_format(self, tracker, domain)
    latest = result.get("tracker", {}).get("latest_message")
    encoder = loaded_encoder()
    text = latest.get("text") if isinstance(latest, dict) else None
    if isinstance(text, str) and text and encoder is not None:
        vector = encoder.known(text)
        if vector is not None:
            # a copy of the parse data (DialogueStateTracker._latest_message_data): the
            # conversation's event is not touched
            latest[EMBEDDING_KEY] = pack(text, vector)
    return result


_stock_is_empty = Domain.is_empty
IS_EMPTY = "_bot_is_empty"


def domain_is_empty(self: Domain) -> bool:
    known = vars(self).get(IS_EMPTY)
    if known is None:
        known = vars(self)[IS_EMPTY] = _stock_is_empty(self)
    return bool(known)


_stock_resolve_by_type = Event.resolve_by_type
_EVENT_TYPES: Dict[str, Type[Event]] = {}


def resolve_event_type(
    type_name: str, default: Optional[Type[Event]] = None
) -> Optional[Type[Event]]:
    """``Event.resolve_by_type`` from a table of type names (the first subclass wins, as in the
    stock walk); a name not in the table walks the subclasses again, as stock does."""
    found = _EVENT_TYPES.get(type_name)
    if found is not None:
        return found
    for cls in all_subclasses(Event):
        _EVENT_TYPES.setdefault(cls.type_name, cls)
    found = _EVENT_TYPES.get(type_name)
    return found if found is not None else _stock_resolve_by_type(type_name, default)


_stock_minimal_graph_schema = GraphSchema.minimal_graph_schema
MINIMAL = "_bot_minimal_schemas"


def minimal_graph_schema(self: GraphSchema, targets: Optional[List[str]] = None) -> GraphSchema:
    kept: Dict[Any, GraphSchema] = vars(self).setdefault(MINIMAL, {})
    key = tuple(targets) if targets else None
    if key not in kept:
        kept[key] = _stock_minimal_graph_schema(self, targets)
    return kept[key]


# Rasa's slot types, plain objects (no __slots__, no state hooks): copy.copy rebuilds them from
# __reduce_ex__ as a new object with the same __dict__, which copy_slot does directly.
PLAIN_SLOT_TYPES = frozenset(
    {
        rasa_slots.FloatSlot,
        rasa_slots.BooleanSlot,
        rasa_slots.TextSlot,
        rasa_slots.ListSlot,
        rasa_slots.CategoricalSlot,
        rasa_slots.AnySlot,
    }
)


def copy_slot(self: rasa_slots.Slot) -> rasa_slots.Slot:
    """``copy.copy(slot)``: the same result, without the generic machinery for Rasa's types."""
    kind = type(self)
    if kind in PLAIN_SLOT_TYPES:
        new = object.__new__(kind)
        vars(new).update(vars(self))
        return new
    return copy._reconstruct(self, None, *self.__reduce_ex__(4))  # type: ignore[attr-defined]


def _is_task(value: Any) -> bool:
    return type(value) is tuple and bool(value) and callable(value[0])


def execute_graph(graph: Dict[str, Any], targets: List[str]) -> List[Any]:
    """``dask.get(graph, targets)`` for graphs of Rasa's shape: every value a task
    ``(callable, *keys of the graph)`` or a literal input ``(name, value)``. Every task runs once
    (as in dask, also those no target needs: Rasa's runner has left none), after the tasks it
    needs; a literal is its own result. Any other shape (a dependency that is not a key, a nested
    task, a cycle) is left to dask."""
    for value in graph.values():
        if _is_task(value):
            if not all(isinstance(k, str) and k in graph for k in value[1:]):
                return list(dask.get(graph, targets))
        elif any(_is_task(part) for part in (value if isinstance(value, tuple) else ())):
            return list(dask.get(graph, targets))
    if not all(t in graph for t in targets):
        return list(dask.get(graph, targets))
    results: Dict[str, Any] = {}
    started: set = set()

    def result(key: str) -> Any:
        if key in results:
            return results[key]
        if key in started:  # a cycle: dask says what is wrong with it
            raise _Cycle()
        started.add(key)
        value = graph[key]
        results[key] = value[0](*[result(k) for k in value[1:]]) if _is_task(value) else value
        return results[key]

    try:
        for key in graph:
            result(key)
        return [results[t] for t in targets]
    except _Cycle:
        return list(dask.get(graph, targets))


class _Cycle(Exception):
    pass


def run_graph(
    self: DaskGraphRunner,
    inputs: Optional[Dict[str, Any]] = None,
    targets: Optional[List[str]] = None,
) -> Dict[str, Any]:
    """Stock ``DaskGraphRunner.run`` with ``execute_graph`` in place of ``dask.get``."""
    run_targets = targets if targets else self._graph_schema.target_names
    minimal_schema = self._graph_schema.minimal_graph_schema(run_targets)
    run_graph = self._build_dask_graph(minimal_schema)
    if inputs:
        self._add_inputs_to_graph(inputs, run_graph)
    if _runner_logger.isEnabledFor(logging.DEBUG):
        _runner_logger.debug(
            f"Running graph with inputs: {inputs}, targets: {targets} "
            f"and {self._execution_context}."
        )
    try:
        return dict(execute_graph(run_graph, run_targets))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


_runner_logger = logging.getLogger("rasa.engine.runner.dask")


_stock_load_model = Agent.load_model


def load_model_and_freeze(
    self: Agent, model_path: Union[str, Path], fingerprint: Optional[str] = None
) -> None:
    """Stock ``Agent.load_model``, then what it left kept out of full garbage collections."""
    gc.unfreeze()  # the model being replaced: collectable again, cycles and all
    _stock_load_model(self, model_path, fingerprint)
    gc.collect()
    gc.freeze()


class LogSnapshots:
    """``copy`` as seen by a Rasa module whose deep copies are log arguments only: a deep copy
    when the module's logger writes debug lines (Rasa's structlog filters by the standard
    logger's level), else the value itself, for a call whose arguments are thrown away."""

    def __init__(self, module: str) -> None:
        self.logger = logging.getLogger(module)

    def deepcopy(self, value: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
        if self.logger.isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value


# Rasa modules in which ``copy.deepcopy`` is only called for ``structlogger.debug`` arguments.
LOG_SNAPSHOT_MODULES = (
    rasa_processor,
    rasa_memoization,
    rasa_rule_policy,
)


def install() -> None:
    """Replace the methods on Rasa's classes (once per process)."""
    global _INSTALLED
    if not _INSTALLED:
        RemoteAction._validate_action_result = validate_action_result
        RemoteAction._action_call_format = action_call_format
        EndpointConfig.session = endpoint_session
        Domain.is_empty = domain_is_empty
        Event.resolve_by_type = staticmethod(resolve_event_type)
        GraphSchema.minimal_graph_schema = minimal_graph_schema
        DaskGraphRunner.run = run_graph
        rasa_slots.Slot.__copy__ = copy_slot
        Agent.load_model = load_model_and_freeze
        for module in LOG_SNAPSHOT_MODULES:
            vars(module)["copy"] = LogSnapshots(module.__name__)
        _INSTALLED = True


__all__ = ["ValidationError", "install", "validate_action_result"]
