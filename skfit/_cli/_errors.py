"""The error a command reports as one line on standard error."""


class CommandError(Exception):
    """A problem with the user's input: ``main`` prints it and exits with 1."""
