"""Benchmarks: the same todo API served by Charter, FastAPI, connexion and raw ASGI."""
