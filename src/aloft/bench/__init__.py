"""`aloft bench`: seeded datasets (dataset), the servers measured (server, ceiling), wrk
(load), the schedule and its record (run), and the report (report); see
docs/ARCHITECTURE.md, "Benchmarks"."""
