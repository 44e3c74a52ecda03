"""The example application's handlers: none are needed.

Everything `spec/` declares is derived from its entities (`x-entity`, `x-crud`). A class here
named after a derived controller (`TodoController`) that subclasses `server.CrudController`
would serve all of Todo's operations, each method it overrides replacing one of them (and free
to call `super()`); its constructor may ask for `todo_repository`, `repositories`, `database`
or `settings`, and finds `self.repository` already set.
"""
