"""Data: entities declared in the spec, their tables, repositories, filters and relations."""
