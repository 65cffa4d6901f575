"""Sharing the generator: the in-process service (service.py), the simplest source (direct.py),
the HTTP server and its client (server.py, client.py), address checks (netaddr.py) and the
Prometheus metrics (prometheus.py)."""
