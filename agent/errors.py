"""User-facing errors: the CLI prints them as one line, without a traceback."""


class SurveyError(Exception):
    """A problem the user can fix; the message says what and how."""


class EmptyStoreError(SurveyError):
    """The store has no papers yet."""
