"""Drills: break a running cluster on purpose while clients use it, and prove what survived.

* `history` — what happened: operations (invoke, completion, ok / fail / info) and events
  (faults, leader changes), kept as JSONL.
* `checker` — pure: a history and the final read in, a verdict out.
* `workload` — concurrent Mastodon-API clients that post, follow and read home timelines.
* `faults` — what a drill breaks and how it repairs it, through `aloft.cluster.control`.
* `report` — the verdict as a terminal table, and a run folder with an HTML timeline.
* `run` — the schedule that ties them together (`aloft drill run`).

Nothing outside this package imports it; it reaches the server only over HTTP.
"""
