"""The todo API as Charter serves it: the spec in `spec/` plus the handlers in this package."""
