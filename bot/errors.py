"""The assistant's exceptions, one small hierarchy.

- ``BotError``: base of everything we raise on purpose.
  - ``ConfigurationError``: a setting or file the operator controls is wrong.
  - ``ArticleError``: a knowledge-base article is invalid or missing.
    - ``ArticleSourceError``: a Markdown source file cannot be parsed (carries the path).
    - ``ArticleInvalid``: a field of an article is invalid (carries the field's name).
    - ``ArticleNotFound``: no article with that id and language.
    - ``VersionConflict``: the article changed since the version the editor started from.
  - ``OrderLookupError``: an order lookup could not be done (not the same as "no match").
  - ``StoryError``: a training or test story an editor saves is refused.
    - ``StoryInvalid``: the story is not valid Rasa data (carries the problems, in plain words).
    - ``StoryNotFound``: the story to change or delete is not in the editor's file.
    - ``ConversationNotFound``: no conversation with that id in the tracker store.
  - ``InboxError``: an editor's action on the inbox cannot be done.
    - ``AlreadyHandled``: some of the messages were handled meanwhile (carries who and when).

The web layer turns them into HTTP errors with a clear message; actions catch the ones they expect
and answer the customer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional


class BotError(Exception):
    """Base of the assistant's own errors."""


class ConfigurationError(BotError):
    """A setting or configuration file is missing or invalid."""


class ArticleError(BotError):
    """A knowledge-base article is invalid."""


class ArticleSourceError(ArticleError):
    """A Markdown article source cannot be read; ``path`` says which."""

    def __init__(self, message: str, path: Optional[Path] = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class ArticleInvalid(ArticleError):
    """A field of an article is invalid; ``field`` names it (title, body, questions, ...)."""

    def __init__(self, message: str, field: Optional[str] = None) -> None:
        self.field = field
        super().__init__(message)


class ArticleNotFound(ArticleError):
    """No article with the given id (and language)."""


class OrderLookupError(BotError):
    """The order database could not be asked."""


class VersionConflict(ArticleError):
    """Somebody saved the article since the version the caller started from."""

    def __init__(
        self,
        article_id: str,
        expected: int,
        actual: int,
        *,
        author: Optional[str] = None,
        saved_at: Optional[dt.datetime] = None,
    ) -> None:
        self.article_id, self.expected, self.actual = article_id, expected, actual
        self.author, self.saved_at = author, saved_at
        who = f" by {author}" if author else ""
        super().__init__(
            f"article {article_id} is at version {actual}{who}, not {expected}: "
            "somebody else saved it meanwhile"
        )


class StoryError(BotError):
    """A story or rule an editor works on cannot be read or saved."""


class StoryInvalid(StoryError):
    """The story is refused; ``problems`` says why, in plain words, one sentence each."""

    def __init__(self, problems: List[str]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


class ConversationNotFound(StoryError):
    """No conversation with the given id in Rasa's tracker store."""


class StoryNotFound(StoryError):
    """No story or rule of that name in the editor's file (deleted or renamed meanwhile)."""


class InboxError(BotError):
    """An editor's action on the inbox cannot be done (unknown or malformed messages)."""


class AlreadyHandled(InboxError):
    """Some of the messages were handled meanwhile: ``author`` and ``handled_at`` say by whom
    and when."""

    def __init__(
        self,
        message: str,
        *,
        author: Optional[str] = None,
        handled_at: Optional[dt.datetime] = None,
    ) -> None:
        self.author = author
        self.handled_at = handled_at
        super().__init__(message)
