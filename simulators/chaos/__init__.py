"""A chaos harness: real server processes on their own PostgreSQL and Redis, steady alarm and agent traffic,
one seeded fault per cycle, and the invariants checked from the database after each.

    python -m simulators.chaos --cycles 20 [--seed S] [--processes K]

Layout: `schedule` (which fault when, pure), `proxy` (a TCP proxy that cuts or stalls), `cluster` (the
PostgreSQL cluster, redis-server and server processes), `traffic` (watches, phones, agent bot, orders),
`invariants` (the SQL checks and the pure alarm bookkeeping), `report` (the table), `harness` (the run).
Exit status: 0 no violation, 1 violations, 2 the harness itself failed (say, a service that would not
start), 130 interrupted.
"""
