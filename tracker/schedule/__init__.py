"""The daemon (`policy-tracker run`): each declared document checked on its own interval.

- ``daemon``: the loop, APScheduler jobs, one check per job, feeds (``run_daemon``).
- ``deliver``: notifications: the outbox sent for the daemon's channels, broken documents queued.
- ``lock``: one daemon per database (``flock`` on ``<db>.lock``).
- ``politeness``: when a document may be fetched again: back-off, jitter, due times, one fetch per host.
- ``watch``: the policies folder, re-read file by file when it changes.
- ``logs``: one line per event, ``--quiet``'s filter.
"""
