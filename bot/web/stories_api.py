"""The story editor's API: training stories and rules as conversations, real conversations from
Rasa's tracker store (personal data masked), and corrected copies saved as training or test
stories once Rasa's validation accepts them. For the editor and admin roles.

The Rasa project it reads and writes is ``BOT_RASA_PROJECT_DIR`` (the repository by default):
training stories go to ``data/stories/editor.yml``, test stories to
``tests/conversations/editor.yml`` (``bot.editor.saving``). A refused story is a 422 whose
``problems`` say, in plain words, what is wrong; nothing is written then.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Union

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.editor import conversations, saving, stories
from bot.errors import ConversationNotFound, StoryError, StoryInvalid
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
    """A turn of the story: ``customer`` (``intent``, and for a test story the ``text`` they
    wrote), ``bot`` (``action``: a response or a custom action), ``slot`` (``name``, ``value``)
    or ``form`` (``name``; none when the form ends)."""

    kind: str = Field(..., regex="^(customer|bot|slot|form)$")
    intent: Optional[str] = Name
    action: Optional[str] = Name
    name: Optional[str] = Name
    text: Optional[str] = Field(None, max_length=4000)
    entities: List[Entity] = Field([], max_items=20)
    value: Union[None, bool, float, str] = Field(None)

    def step(self) -> saving.Step:
        name = {"customer": self.intent, "bot": self.action}.get(self.kind, self.name)
        value = self.value[:2000] if isinstance(self.value, str) else self.value
        return saving.Step(
            self.kind, name, self.text, [e.dict() for e in self.entities], value=value
        )


class NewStory(BaseModel):
    name: str = Field(..., max_length=1000, description="the story's name, unique")
    kind: str = Field(..., regex="^(training|test)$", description="training or test story")
    turns: List[Turn] = Field(..., max_items=1000)
    conversation_id: Optional[str] = Field(
        None, max_length=255, description="the real conversation it was made from"
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
    app.add_exception_handler(StoryError, unreadable)  # type: ignore[arg-type]


def project_of(request: Request) -> Any:
    return stories.project_dir(request.app.state.settings)


@router.get("/stories")
def list_stories(
    request: Request,
    q: Optional[str] = Query(None, max_length=200, description="words of a name, intent, action"),
    kind: Optional[str] = Query(None, regex="^(story|rule)$"),
    me: User = Depends(editor_only),
) -> Dict[str, Any]:
    """The training stories and rules as conversations (customer turns with the intent in
    words, bot turns with what it says or does), searched; and whether the model needs
    retraining to learn the data as it is now."""
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
    """Save a (corrected) conversation as a training story or a test story, after Rasa's
    validation. 422 with the problems in plain words when it is refused."""
    result = saving.save(
        project_of(request),
        name=body.name,
        kind=body.kind,
        steps=[turn.step() for turn in body.turns],
    )
    logger.info(
        "%s saved a %s story (from conversation %s)",
        me.username,
        body.kind,
        body.conversation_id or "none",
    )
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
