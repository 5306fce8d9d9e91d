"""A production-shaped Aloft cluster on one machine: etcd, Patroni + PostgreSQL 15, the app
and HAProxy in three zones, all under one supervisord per cluster directory.

Data flows one way through the modules:

* `topology`    — zones, addresses, ports and every path inside the cluster directory;
* `credentials` — the generated passwords (root-only file);
* `render`      — topology → patroni.yml, etcd flags, haproxy.cfg, supervisord.conf (pure);
* `host`        — the machine: root, the service user, binaries, ports, process scans;
* `supervision` — supervisord: start it, and start/stop/signal its programs over XML-RPC;
* `probe`       — small JSON-over-HTTP helper for the REST endpoints we poll;
* `status`      — one snapshot of the cluster (Patroni, etcd, apps, HAProxy) and its health;
* `lifecycle`   — `up` and `down`;
* `control`     — `Cluster`, the handle that drills use to inject faults;
* `commands`    — the `aloft cluster` click group.

Nothing in `api` or `services` imports this package.
"""
