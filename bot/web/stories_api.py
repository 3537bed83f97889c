"""The story editor's API: training stories, rules and test stories as conversations, real
conversations from Rasa's tracker store (personal data masked), and corrected copies saved as
training stories, rules or test stories once Rasa's validation accepts them; what the editor
saved can be changed (``PUT``) and deleted. For the editor and admin roles.

The Rasa project it reads and writes is ``BOT_RASA_PROJECT_DIR`` (the repository by default):
training stories go to ``data/stories/editor.yml``, rules to ``data/rules/editor.yml``, test
stories to ``tests/conversations/editor.yml`` (``bot.editor.saving``); stories in other files
are read-only here. A refused story is a 422 whose ``problems`` say, in plain words, what is
wrong; nothing is written then. A story to change or delete that is not in the editor's file is
a 404.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Union

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.editor import conversations, saving, stories
from bot.errors import ConversationNotFound, StoryError, StoryInvalid, StoryNotFound
from bot.kb import training
from bot.users import User
from bot.web.auth import requires

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/editor", tags=["stories"])
editor_only = requires("editor")
Name = Field(None, max_length=200)


class Entity(BaseModel):
    entity: str = Field(..., max_length=100)
    value: Optional[str] = Field(None, max_length=2000)


class Turn(BaseModel):
    """A turn of the story: ``customer`` (``intent``, its ``entities``, and for a test story the
    ``text`` they wrote), ``bot`` (``action``: a response or a custom action), ``slot``
    (``name``, ``value``) or ``form`` (``name``; none when the form ends). In a rule, slot and
    form turns at its start may be its ``condition``."""

    # pydantic 1 (pinned) validates ``regex=``; its ``pattern=`` would be silently ignored.
    kind: str = Field(..., regex="^(customer|bot|slot|form)$")
    intent: Optional[str] = Name
    action: Optional[str] = Name
    name: Optional[str] = Name
    text: Optional[str] = Field(None, max_length=4000)
    entities: List[Entity] = Field([], max_items=20)
    value: Union[None, bool, float, str] = Field(None)
    condition: bool = Field(False, description="a rule's condition (slot or form, at its start)")

    def step(self) -> saving.Step:
        name = {"customer": self.intent, "bot": self.action}.get(self.kind, self.name)
        value = self.value[:2000] if isinstance(self.value, str) else self.value
        return saving.Step(
            self.kind,
            name,
            self.text,
            [e.dict() for e in self.entities],
            value=value,
            condition=self.condition,
        )


KIND = "^(training|rule|test)$"


class NewStory(BaseModel):
    name: str = Field(..., max_length=1000, description="the story's name, unique")
    kind: str = Field(..., regex=KIND, description="training story, rule or test story")
    turns: List[Turn] = Field(..., max_items=1000)
    conversation_id: Optional[str] = Field(
        None, max_length=255, description="the real conversation it was made from"
    )
    conversation_start: bool = Field(
        False, description="a rule: only at the start of a conversation"
    )
    wait_for_user_input: bool = Field(
        True, description="a rule: the bot then waits for the customer (false: it goes on)"
    )

    def save(self, project: Any, replaces: Optional[str] = None) -> Dict[str, Any]:
        """Saved by ``bot.editor.saving``, in the place of ``replaces`` when given."""
        return saving.save(
            project,
            name=self.name,
            kind=self.kind,
            steps=[turn.step() for turn in self.turns],
            shape=saving.RuleShape(self.conversation_start, self.wait_for_user_input),
            replaces=replaces,
        )


class ChangedStory(NewStory):
    replaces: str = Field(
        ..., min_length=1, max_length=1000, description="the name of the story it replaces"
    )


def refused(request: Request, error: StoryInvalid) -> JSONResponse:
    return JSONResponse(
        {
            "detail": "The story was not saved: " + " ".join(error.problems),
            "problems": [{"field": "story", "problem": p} for p in error.problems],
        },
        status_code=422,
    )


def not_found(request: Request, error: ConversationNotFound) -> JSONResponse:
    return JSONResponse({"detail": "There is no conversation with this id."}, status_code=404)


def story_not_found(request: Request, error: StoryNotFound) -> JSONResponse:
    return JSONResponse(
        {
            "detail": "This story is not in the editor's file (any more): somebody may have "
            "changed or deleted it meanwhile. Reload the list."
        },
        status_code=404,
    )


def unreadable(request: Request, error: StoryError) -> JSONResponse:
    logger.error("training data cannot be read: %s", error)
    return JSONResponse(
        {"detail": f"The training data cannot be read ({error}); ask an operator."},
        status_code=503,
    )


def add_error_handlers(app: FastAPI) -> None:
    """Stories' errors as HTTP answers: 422 with the problems in words, 404, 503."""
    app.add_exception_handler(StoryInvalid, refused)  # type: ignore[arg-type]
    app.add_exception_handler(ConversationNotFound, not_found)  # type: ignore[arg-type]
    app.add_exception_handler(StoryNotFound, story_not_found)  # type: ignore[arg-type]
    app.add_exception_handler(StoryError, unreadable)  # type: ignore[arg-type]


def project_of(request: Request) -> Any:
    return stories.project_dir(request.app.state.settings)


@router.get("/stories")
def list_stories(
    request: Request,
    q: Optional[str] = Query(None, max_length=200, description="words of a name, intent, action"),
    kind: Optional[str] = Query(None, pattern="^(story|rule|test)$"),
    me: User = Depends(editor_only),
) -> Dict[str, Any]:
    """The training stories, rules and test stories as conversations (customer turns with the
    intent in words, bot turns with what it says or does), searched, each with its file and
    whether it is the editor's (``editable``); and whether the model needs retraining to learn
    the data as it is now."""
    project = project_of(request)
    return {
        "stories": stories.search(project, q, kind),
        "needs_retraining": training.model_is_stale(project),
    }


@router.get("/stories/vocabulary")
def vocabulary(request: Request, me: User = Depends(editor_only)) -> Dict[str, Any]:
    """What an editor can choose from: the domain's intents (with examples) and actions (with
    what they say or do), slots and forms."""
    return stories.vocabulary(project_of(request)).as_json()


@router.post("/stories", status_code=201)
def save_story(body: NewStory, request: Request, me: User = Depends(editor_only)) -> Dict[str, Any]:
    """Save a (corrected) conversation as a training story, a rule or a test story, after
    Rasa's validation. 422 with the problems in plain words when it is refused."""
    result = body.save(project_of(request))
    logger.info(
        "%s saved a %s story (from conversation %s)",
        me.username,
        body.kind,
        body.conversation_id or "none",
    )
    return result


@router.put("/stories")
def change_story(
    body: ChangedStory, request: Request, me: User = Depends(editor_only)
) -> Dict[str, Any]:
    """Replace the story ``replaces`` in the editor's file of ``kind`` (its place kept), after
    the same validation as a new one. 422 when refused, 404 when it is not in that file."""
    result = body.save(project_of(request), replaces=body.replaces)
    logger.info("%s changed a %s story", me.username, body.kind)
    return result


@router.delete("/stories")
def delete_story(
    request: Request,
    name: str = Query(..., min_length=1, max_length=1000),
    kind: str = Query(..., pattern=KIND),
    me: User = Depends(editor_only),
) -> Dict[str, Any]:
    """Delete the story ``name`` from the editor's file of ``kind``. 404 when it is not there
    (stories in other files are never deleted here)."""
    result = saving.delete(project_of(request), name=name, kind=kind)
    logger.info("%s deleted a %s story", me.username, kind)
    return result


@router.get("/conversations")
def find_conversations(
    request: Request,
    q: Optional[str] = Query(None, max_length=200, description="text the customer wrote"),
    conversation_id: Optional[str] = Query(None, alias="id", max_length=255),
    me: User = Depends(editor_only),
) -> Dict[str, Any]:
    """Real conversations, newest first: by (part of) their id, by text the customer wrote."""
    found = conversations.find(
        request.app.state.tracker_engine,
        text=(q or "").strip() or None,
        conversation_id=(conversation_id or "").strip() or None,
    )
    return {"conversations": found}


@router.get("/conversations/{conversation_id}")
def get_conversation(
    request: Request,
    conversation_id: str = Path(..., min_length=1, max_length=255),
    me: User = Depends(editor_only),
) -> Dict[str, Any]:
    """One conversation as turns, personal data masked: what the customer wrote with the intent
    the bot understood, each action of the bot with what it said."""
    return conversations.conversation(request.app.state.tracker_engine, conversation_id)
