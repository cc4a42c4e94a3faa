"""The daemon (`policy-tracker run`): each declared document checked on its own interval.

- ``daemon``: the loop, APScheduler jobs, one check per job, feeds and notifications (``run_daemon``).
- ``politeness``: when a document may be fetched again: back-off, jitter, due times, one fetch per host.
- ``watch``: the policies folder, re-read file by file when it changes.
- ``logs``: one line per event, ``--quiet``'s filter.
"""
