"""People who sign in to the web app: agents, editors and admins.

Passwords are stored as Argon2id hashes (argon2-cffi). An agent has teams and languages (for
routing), a capacity (how many chats at once) and a presence (online, away, offline) with the time
it was last seen, so that the queue knows who can take a conversation.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Column

from bot.db import Base
from bot.errors import BotError
from bot.timeutil import UTCDateTime, utcnow

ROLES = ("agent", "editor", "admin")
PRESENCES = ("online", "away", "offline")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class UserError(BotError):
    """A user cannot be created or changed as asked (the message says why)."""


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("presence IN ('online', 'away', 'offline')", name="presence"),
        CheckConstraint("capacity >= 0", name="capacity"),
    )

    pk = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    password_hash = Column(String(200), nullable=False)
    roles = Column(JSON, nullable=False, default=list)
    teams = Column(JSON, nullable=False, default=list)
    languages = Column(JSON, nullable=False, default=list)
    capacity = Column(Integer, nullable=False, default=3)
    presence = Column(String(16), nullable=False, default="offline")
    last_seen_at = Column(UTCDateTime, nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def has_role(self, *roles: str) -> bool:
        """True when the user has any of ``roles``; admins have every role."""
        mine = set(self.roles or ())
        return "admin" in mine or bool(mine.intersection(roles))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: Optional[str] = None,
    roles: Sequence[str] = ("agent",),
    teams: Iterable[str] = (),
    languages: Iterable[str] = ("en",),
    capacity: int = 3,
) -> User:
    """Create a user; UserError for a taken or malformed name, short password or bad role."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise UserError("username: 2-64 characters, lower-case letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise UserError(f"roles: choose from {', '.join(ROLES)}")
    if capacity < 0:
        raise UserError("capacity: zero or more")
    if find_user(session, username) is not None:
        raise UserError(f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:100],
        password_hash=hash_password(password),
        roles=list(roles),
        teams=list(teams),
        languages=list(languages),
        capacity=capacity,
        presence="offline",
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> Optional[User]:
    return session.execute(
        select(User).where(User.username == username.strip().lower())
    ).scalar_one_or_none()


def authenticate(session: Session, username: str, password: str) -> Optional[User]:
    """The active user with this name and password, or None (the same for every failure)."""
    user = find_user(session, username)
    if user is None or not user.active:
        # Spend the same time as a real check, so that timing does not reveal who exists.
        _verify_dummy(password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _verify_dummy(password: str) -> None:
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


def load_demo_users(session: Session, path: Path) -> Tuple[int, str]:
    """Create the demo staff from ``path`` when there are no users at all.

    Returns (how many were created, where their password is). They share the demo password
    (bot.settings.demo_password): BOT_DEMO_PASSWORD, or the generated var/demo-password.
    """
    from bot.settings import demo_password, get_settings

    if session.execute(select(func.count(User.pk))).scalar_one() > 0:
        return 0, ""
    settings = get_settings()
    password = demo_password(settings)
    where = "BOT_DEMO_PASSWORD" if settings.demo_password is not None else "var/demo-password"
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("users") or []
    for entry in entries:
        create_user(
            session,
            username=entry["username"],
            password=password,
            display_name=entry.get("display_name"),
            roles=entry.get("roles") or ["agent"],
            teams=entry.get("teams") or [],
            languages=entry.get("languages") or ["en"],
            capacity=int(entry.get("capacity", 3)),
        )
    return len(entries), where
