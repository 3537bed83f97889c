"""Live updates: what changed in conversations and handoffs, pushed to the agent console and to
customers (Server-Sent Events, ``bot/web/live.py``), in every web app process alike.

Where changes happen, and how a web process learns of them:
- A customer's message arrives at the Rasa server, a separate process, which writes it to its SQL
  tracker store (table ``events``); so do the agents' messages and the hand-back, which the web
  app sends through Rasa's HTTP API. Handoff changes (queued, claimed, transferred, resolved, ...)
  are rows of ``handoff_events``, notes of ``handoff_notes``, written follow-ups of ``follow_ups``;
  the action server, the web app and Rasa's channels write them.
- Every one of these tables grows by an increasing id and is never updated in place, so the
  database itself is the log. Each web process runs one ``Watcher`` (``changes.py``) that asks,
  every ``BOT_LIVE_POLL_SECONDS``, for the rows after its position: one query per table (each an
  index range scan), whatever the number of connected browsers, on SQLite and PostgreSQL alike.
  Its ``Hub`` (``hub.py``) hands each change to the streams that want it.
- An id read out of order (PostgreSQL may commit id 11 before id 10) or never committed (a rolled
  back insert) is handled by ``GapCursor`` (``cursor.py``): nothing is skipped, nothing sent twice.
- A stream's event ids are positions in these tables, so a browser that reconnects with
  ``Last-Event-ID`` is sent what it missed straight from the database, by whichever process it
  reaches, even after a restart.

Not chosen: PostgreSQL LISTEN/NOTIFY needs a trigger on Rasa's own ``events`` table (a schema we do
not own) and does nothing on SQLite, the default; Redis pub/sub alone loses what is published
while a process is down or restarting, and the Rasa server would have to publish too.

What lives in no table: typing. Customers' and agents' "typing…" is short-lived state, kept by a
``Broker`` (``broker.py``): in this process's memory by default, or in Redis (``BOT_REDIS_URL``),
whose pub/sub then carries typing events to every web process, so that a customer's typing that
reaches one process shows in a console connected to another.
"""
