"""One exception type for problems a user can fix; its message is a single line naming the culprit."""


class KlipError(Exception):
    """A user-facing error: bad input, missing source, refused credentials. Message is one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class BadVodReference(KlipError):
    """A VOD reference (URL or id) that names no VOD. `template` holds `{ref}` where the reference goes, so a server
    can name the request field instead of echoing what a client sent (`naming`)."""

    def __init__(self, template: str, ref: str):
        self.template = template
        super().__init__(template.format(ref=repr(ref)))

    def naming(self, name: str) -> str:
        return " ".join(self.template.format(ref=name).split())
