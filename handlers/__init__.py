"""The example application's handlers: none are needed.

Everything `spec/` declares is derived from its entities (`x-entity`, `x-crud`). A class here
named after a derived controller (`TodoController`) with a method named after one of its
operations (`create`, `find`...) would replace that one operation and leave the others derived;
its constructor may ask for `todo_repository`, `repositories`, `database` or `settings`.
"""
