"""Users of the web app: creation rules, hashed passwords, sign-in and roles."""

from __future__ import annotations

import pytest

from bot.users import UserError, authenticate, create_user


def make(session, **overrides):
    values = {"username": "Ona", "password": "correct horse battery", "roles": ["agent"]}
    values.update(overrides)
    return create_user(session, **values)


def test_password_is_stored_hashed_and_checked(session) -> None:
    user = make(session)
    assert user.username == "ona"
    assert "correct horse" not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(session, "ONA", "correct horse battery").pk == user.pk
    assert authenticate(session, "ona", "wrong password here") is None
    assert authenticate(session, "nobody", "correct horse battery") is None


def test_inactive_users_cannot_sign_in(session) -> None:
    user = make(session)
    user.active = False
    assert authenticate(session, "ona", "correct horse battery") is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "short"}, "password"),
        ({"username": "x"}, "username"),
        ({"username": "<script>"}, "username"),
        ({"roles": ["root"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"capacity": -1}, "capacity"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(session, overrides, message) -> None:
    with pytest.raises(UserError, match=message):
        make(session, **overrides)


def test_names_are_unique_whatever_the_case(session) -> None:
    make(session)
    with pytest.raises(UserError, match="taken"):
        make(session, username="ONA")


def test_admins_have_every_role(session) -> None:
    admin = make(session, username="boss", roles=["admin"])
    editor = make(session, username="eddie", roles=["editor"])
    assert admin.has_role("agent") and admin.has_role("editor")
    assert editor.has_role("editor") and not editor.has_role("agent")
