"""The database benchmark's handlers: the example's hand-written operation and interceptor, so
that `spec/` binds, but neither its `TodoController` nor its `TodoRepository`: the scenarios
measure Charter's built-in CRUD, as it is before a user extends it."""

from handlers import summaries, timing


class Summaries(summaries.Summaries):
    """The example's, found here (a package's handlers are the classes it defines)."""


class Timing(timing.Timing):
    """The example's, found here."""
