"""On PostgreSQL a committed action that adds outbox rows wakes the listening runners; a refused (rolled-back) one
does not, and many signals before a wait make one wake-up."""
from __future__ import annotations

import pytest

from casework import outbox_signal, runs
from casework.search import record_attempt
from models.errors import Refusal
from models.timing import utcnow
from tests.casework.drive import add_member, start

pytestmark = pytest.mark.postgres


@pytest.fixture
def listener(store):
    if store.is_sqlite:
        pytest.skip("SQLite has no notification channel: the embedded runner polls")
    waker = outbox_signal.OutboxListener(store)
    assert waker.listen()  # LISTEN is in place before anything is committed
    assert waker.wait(0.05) is False
    yield waker
    waker.close()


def test_a_committed_action_wakes_the_listener_once(store, orgs, listener):
    for i in range(3):
        add_member(store, name=f"成员{i}")
    opened = start(store).case_ids  # three outbox rows in one transaction
    assert len(opened) == 3
    assert listener.wait(10) is True
    assert listener.wait(0.2) is False  # folded into the one wake-up
    runs.requeue(store, opened[:2], reason="test", now=utcnow())
    runs.requeue(store, opened[2:], reason="test", now=utcnow())
    assert listener.wait(10) is True
    assert listener.wait(0.2) is False  # both signals came before the wait: one wake-up for them


def test_a_refused_action_sends_nothing(store, orgs, listener):
    add_member(store, name="成员")
    (case_id,) = start(store).case_ids
    assert listener.wait(10) is True
    with pytest.raises(Refusal):  # the second stage before the first: refused, rolled back
        record_attempt(store, actor_id="sec1", case_id=case_id, stage="network", method="亲友", description="未果",
                       witness="李四", outcome="not_found")
    assert listener.wait(0.5) is False


def test_a_listener_that_lost_its_connection_reconnects(store, orgs, listener):
    listener._conn.close()  # as if the server had dropped it
    assert listener.wait(0.05) is True  # reconnected: what was signalled meanwhile is unknown, so look
    assert listener.wait(0.05) is False
    add_member(store, name="成员")
    start(store)
    assert listener.wait(10) is True


def test_a_listener_whose_backend_was_terminated_reconnects(store, orgs, listener):
    from sqlalchemy import text

    with store.writing() as s:
        s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener._conn.info.backend_pid})
        s.commit()
    assert listener.wait(2) is False  # the lost connection is reported, not raised
    assert listener.wait(0.05) is True  # and replaced at the next wait, which asks the caller to look
    add_member(store, name="成员")
    start(store)
    assert listener.wait(10) is True
