"""One exception type for problems a user can fix; its message is a single line naming the culprit."""


class KlipError(Exception):
    """A user-facing error: bad input, missing source, refused credentials. Message is one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
