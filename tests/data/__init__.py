"""Tests of the data layer, `server/data/`: one module each, on SQLite, PostgreSQL and MariaDB."""
