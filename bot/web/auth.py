"""Signing in to the web app and checking roles on every route.

The session is a signed cookie (Starlette's SessionMiddleware, itsdangerous) holding the user's pk
and the time of sign-in; it is HttpOnly and SameSite=Strict, so another site cannot send it (no
cross-site request forgery through it). Every API route declares the roles it needs with
``requires(...)``; a missing or expired session is 401, a wrong role 403.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from bot import db
from bot.users import User

SESSION_KEY = "user"


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request, committed when the route returns without error."""
    with db.session_scope(request.app.state.engine) as session:
        yield session


def sign_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session[SESSION_KEY] = {"pk": user.pk, "at": int(time.time())}


def sign_out(request: Request) -> None:
    request.session.clear()


def current_user(request: Request, session: Session = Depends(get_session)) -> User:
    """The signed-in, active user. Raises 401 when there is none or the session expired."""
    data = request.session.get(SESSION_KEY)
    max_age = request.app.state.settings.session_hours * 3600
    if not isinstance(data, dict) or time.time() - float(data.get("at", 0)) > max_age:
        raise HTTPException(status_code=401, detail="sign in first")
    user = session.get(User, data.get("pk"))
    if user is None or not user.active:
        request.session.clear()
        raise HTTPException(status_code=401, detail="sign in first")
    # Sliding expiry: activity keeps the session alive.
    data["at"] = int(time.time())
    request.session[SESSION_KEY] = data
    return user


def requires(*roles: str) -> Callable[..., User]:
    """A dependency: the current user, who must have one of ``roles`` (admins have all)."""

    def check(user: User = Depends(current_user)) -> User:
        if not user.has_role(*roles):
            raise HTTPException(status_code=403, detail=f"this needs the {' or '.join(roles)} role")
        return user

    return check
