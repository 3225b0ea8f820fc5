"""The command line's own error."""


class UsageError(Exception):
    """A bad command line: printed as one line, exit status 2."""
