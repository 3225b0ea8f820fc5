"""The learner's side's own error, kept light so that the command line can catch it."""


class WorkspaceError(Exception):
    """A workspace cannot serve a run: missing, or an exercise that does not pass yet."""
