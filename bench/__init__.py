"""Benchmarks: the todo API served by Charter, FastAPI, connexion and raw ASGI, in memory and on databases."""
