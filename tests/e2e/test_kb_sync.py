"""What an editor published survives a restart as `make run` does it: the set-up's knowledge-base
sync keeps it (and says to export it), and the restarted assistant answers with it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot import db
from bot.kb import editing, repository
from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import custom, texts

pytestmark = pytest.mark.e2e

ARTICLE = "public-holidays-hours"
ADDED = "E2E-SYNC: published in the editor, kept after a restart."


def test_a_published_change_survives_setup_and_restart(stack, sender) -> None:
    engine = db.make_engine(stack.database_url)
    with db.session_scope(engine) as session:
        article = repository.get_article(session, ARTICLE, "en")
        original = article.body
        editing.publish(
            session,
            article_id=ARTICLE,
            language="en",
            author="edita-e2e",
            base_version=editing.head_of(article).version,
            content=editing.Content(
                title=article.title,
                body=f"{original}\n\n{ADDED}",
                questions=tuple(article.question_texts),
                tags=tuple(article.tags),
                audience=article.audience,
            ),
        )
    try:
        stack.stop()
        setup = subprocess.run(
            [sys.executable, "-m", "bot", "setup"],
            env=stack.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert setup.returncode == 0, setup.stderr
        assert f"export    en/{ARTICLE}: changed in the editor since the last sync" in setup.stdout
        stack.start()
        reply = stack.say(sender, "Are you open on public holidays?")
        assert custom(reply, "kb_answer")["article_id"] == ARTICLE
        assert ADDED in texts(reply)
    finally:
        if stack.process is None or stack.process.poll() is not None:
            stack.start()
        with db.session_scope(engine) as session:
            repository.revise_article(session, ARTICLE, "en", author="e2e", body=original)
        engine.dispose()
