"""The PostgreSQL set-up: migrations, knowledge base, handoffs and Rasa's tracker store on a real
PostgreSQL server (`.ci/services` starts one; BOT_TEST_POSTGRES_URL says where)."""

from __future__ import annotations

import threading
import uuid
from typing import Iterator

import pytest
from sqlalchemy import func, select

from bot import db
from bot.handoff.models import Handoff
from bot.handoff.queue import request_handoff
from bot.kb import repository
from bot.kb.sources import import_sources, load_sources
from bot.orders.lookup import find_order, load_demo_orders
from bot.settings import PROJECT_ROOT
from tests.conftest import postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database("amberline_test") as url:
        db.upgrade(url)
        yield url
        db.get_engine.cache_clear()


@pytest.fixture
def pg_engine(pg_url):
    engine = db.make_engine(pg_url)
    yield engine
    engine.dispose()


def test_migrations_are_at_head_and_repeatable(pg_url, pg_engine) -> None:
    first = db.current_revision(pg_engine)
    db.upgrade(pg_url)
    assert first is not None and db.current_revision(pg_engine) == first


def test_knowledge_base_and_versions(pg_engine) -> None:
    with db.session_scope(pg_engine) as session:
        report = import_sources(session, load_sources(PROJECT_ROOT / "data" / "kb")[0])
        assert len(report.created) >= 60
    with db.session_scope(pg_engine) as session:
        version = repository.get_article(session, "gift-cards", "en").version
        repository.revise_article(
            session,
            "gift-cards",
            "en",
            author="pg",
            body="Changed on PostgreSQL.",
            expected_version=version,
        )
    with db.session_scope(pg_engine) as session:
        versions = repository.article_versions(session, "gift-cards", "en")
        assert versions[-1].body == "Changed on PostgreSQL." and versions[-1].author == "pg"
        assert versions[-1].created_at.tzinfo is not None


def test_two_editors_saving_at_once_one_is_told(pg_engine) -> None:
    """Two drafts from the same version at the same moment: one is saved, the other gets
    VersionConflict (PostgreSQL's unique version number decides); ratings and the editor's
    list work on PostgreSQL."""
    from bot.errors import VersionConflict
    from bot.kb import editing, history
    from bot.kb.models import ArticleRating

    text = editing.content(title="PG race", body="First.", questions=["pg race question"])
    with db.session_scope(pg_engine) as session:
        editing.create(session, article_id="pg-race", language="en", content=text, author="a")
        session.add(
            ArticleRating(
                conversation_id="c", article_id="pg-race", language="en", version=1, helpful=False
            )
        )
    barrier = threading.Barrier(2)
    outcomes = []

    def save(author: str) -> None:
        changed = editing.content(title="PG race", body=f"By {author}.", questions=["q"])
        try:
            with db.session_scope(pg_engine) as session:
                # Both have read version 1 as the newest before either writes.
                assert (
                    editing.head_of(repository.get_article(session, "pg-race", "en")).version == 1
                )
                barrier.wait(timeout=20)
                editing.save_draft(
                    session, article_id="pg-race", language="en", content=changed,
                    author=author, base_version=1,
                )  # fmt: skip
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(who,)) for who in ("ana", "ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    with db.session_scope(pg_engine) as session:
        assert [v.version for v in repository.article_versions(session, "pg-race", "en")] == [1, 2]
        found = history.find(session, helpfulness="low", q="pg race")
        assert [(a.article_id, stars.unhelpful) for a, _, stars in found] == [("pg-race", 1)]


def test_order_lookup(pg_engine) -> None:
    with db.session_scope(pg_engine) as session:
        load_demo_orders(session, PROJECT_ROOT / "data" / "orders.yml")
    with db.session_scope(pg_engine) as session:
        assert find_order(session, number="AM-100655", email="anna.nowak@example.pl") is not None
        assert find_order(session, number="AM-100655", email="x@example.pl") is None


def test_concurrent_handoff_requests_create_one(pg_engine) -> None:
    barrier = threading.Barrier(5)

    def worker() -> None:
        barrier.wait()
        with db.session_scope(pg_engine) as session:
            request_handoff(
                session,
                conversation_id="pg-race",
                reason="asked_for_person",
                language="en",
                channel="rest",
                last_question=None,
                context={},
            )

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.session_scope(pg_engine) as session:
        count = session.execute(
            select(func.count(Handoff.pk)).where(Handoff.conversation_id == "pg-race")
        ).scalar_one()
    assert count == 1


def test_concurrent_claims_on_postgres_have_one_winner(pg_engine) -> None:
    from bot.handoff import queue
    from bot.handoff.ownership import InvalidTransition
    from bot.timeutil import utcnow
    from bot.users import User, create_user

    with db.session_scope(pg_engine) as session:
        handoff, _ = request_handoff(
            session,
            conversation_id="pg-claim",
            reason="asked_for_person",
            language="en",
            channel="rest",
            last_question=None,
            context={},
            team="support-baltics",
        )
        session.flush()
        pk = handoff.pk
        agents = []
        for i in range(4):
            user = create_user(session, username=f"pg-agent-{i}", password="a long enough password")
            user.presence, user.last_seen_at = "online", utcnow()
            session.flush()
            agents.append(user.pk)
    barrier = threading.Barrier(len(agents))
    outcomes = []

    def worker(agent_pk: int) -> None:
        with db.session_scope(pg_engine) as session:
            me, mine = session.get(User, agent_pk), session.get(Handoff, pk)
            barrier.wait()
            try:
                queue.claim(session, mine, me)
                outcomes.append("won")
            except InvalidTransition:
                outcomes.append("told")

    threads = [threading.Thread(target=worker, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["told", "told", "told", "won"]


async def test_rasa_tracker_store_keeps_conversations(pg_url) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_ext.tracker_store import UrlSQLTrackerStore

    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    store = UrlSQLTrackerStore(domain=domain, url=pg_url)
    tracker = DialogueStateTracker("pg-conversation", domain.slots)
    tracker.update(UserUttered("where is my order?"))
    tracker.update(SlotSet("order_number", "AM-100482"))
    await store.save(tracker)

    again = await UrlSQLTrackerStore(domain=domain, url=pg_url).retrieve("pg-conversation")
    assert again is not None
    assert again.get_slot("order_number") == "AM-100482"
    assert again.latest_message.text == "where is my order?"


async def test_live_updates_follow_postgres(pg_url, pg_engine) -> None:
    """The watcher reads the handoff tables and Rasa's events on PostgreSQL as on SQLite."""
    from bot.live.changes import Watcher
    from bot.live.hub import Hub
    from tests.conftest import Conversations

    said = Conversations(pg_url)
    try:
        await said.customer("pg-live", "before")
        watcher = Watcher(pg_engine, pg_engine, Hub(), every=1)
        watcher.start()
        with db.session_scope(pg_engine) as session:
            handoff, _ = request_handoff(
                session,
                conversation_id="pg-live",
                reason="asked_for_person",
                language="en",
                channel="rest",
                last_question="before",
                context={},
            )
        await said.customer("pg-live", "after")
        changes, token = watcher.poll()
    finally:
        said.close()
    assert [c["kind"] for c in changes] == ["handoff", "line"]
    assert changes[0]["id"] == handoff.pk and changes[1]["handoff"] == handoff.pk
    assert changes[1]["line"]["text"] == "after" and token["t"] == changes[1]["row"]


def test_kb_sync_on_postgres(pg_engine, tmp_path) -> None:
    """The sync's record (migration 0010) on PostgreSQL: a new file, a changed file, an editor's
    change beside a changed file (a conflict), a removed file; limited to this test's article,
    since the module's database holds the others'."""
    from bot.kb.sync import export, sync

    article_id = "sync-pg-" + uuid.uuid4().hex[:8]
    only = [f"en/{article_id}"]
    path = tmp_path / "kb" / "en" / f"{article_id}.md"
    path.parent.mkdir(parents=True)
    text = (
        f"---\nid: {article_id}\nlanguage: en\ntitle: Synced\nstatus: published\n"
        "questions: [is it synced]\n---\nFirst.\n"
    )
    path.write_text(text)

    def kind(**options) -> str:
        with db.session_scope(pg_engine) as session:
            return sync(session, tmp_path / "kb", only=only, **options).changes[0].kind

    assert kind() == "created"
    path.write_text(text.replace("First.", "Second."))
    assert kind() == "updated"
    with db.session_scope(pg_engine) as session:
        repository.revise_article(session, article_id, "en", author="pg", body="Editor.")
    assert kind() == "export"
    path.write_text(text.replace("First.", "Third."))
    assert kind() == "conflict"
    assert kind(prefer="editor") == "exported"
    assert "Editor." in path.read_text()
    path.unlink()
    assert kind() == "archived"
    with db.session_scope(pg_engine) as session:
        article = repository.get_article(session, article_id, "en")
        assert article.status == "draft" and article.updated_by == "git"
        assert [v.author for v in article.versions] == ["git", "git", "pg", "git"]
        assert not [p for p in export(session, tmp_path / "kb").written if article_id in p.name]


def test_migration_0010_downgrades_and_upgrades_with_data(pg_url, pg_engine) -> None:
    from alembic import command

    head = db.current_revision(pg_engine)
    with db.session_scope(pg_engine) as session:
        repository.save_article(
            session, article_id="kept-" + uuid.uuid4().hex[:8], language="en", title="Kept",
            body="Kept.", questions=["kept"], status="published", author="pg",
        )  # fmt: skip
        articles = repository.kb_fingerprint(session)[0]
    command.downgrade(db.alembic_config(pg_url), "0009")
    assert db.current_revision(pg_engine) == "0009"
    db.upgrade(pg_url)
    assert db.current_revision(pg_engine) == head
    with db.session_scope(pg_engine) as session:
        assert repository.sync_records(session) == {}
        assert repository.kb_fingerprint(session)[0] == articles
