"""Errors the package raises: one type, with a message meant for the user."""


class BPTError(RuntimeError):
    """A failure with a clear cause: a missing tool, a compile error, a bad
    argument. The message says what went wrong and what to do."""
