"""Process-level plumbing around the game: how `figment run` starts and wires its bots
(runner.py, wiring.py, shards.py, starter_photos.py), what operators see (metrics.py, health.py,
server.py: /metrics, /livez, /readyz; logging_setup.py), updates handled once across processes
(seen_updates.py), and `figment bench db` (bench_db.py)."""
