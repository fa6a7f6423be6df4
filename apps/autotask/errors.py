"""What can go wrong talking to Autotask, as exceptions that carry Autotask's own words."""


class AutotaskError(Exception):
    """Base class. `messages` are Autotask's `errors` (or our description of the failure)."""

    def __init__(self, message: str, *, status: int | None = None, messages=None, url=""):
        super().__init__(message)
        self.status = status
        self.messages = list(messages or [message])
        self.url = url


class AutotaskAuthError(AutotaskError):
    """Credentials, integration code, zone or permissions are wrong (401/403, or Autotask's
    500 for an unknown user or integration code)."""


class AutotaskValidationError(AutotaskError):
    """Autotask refused the request itself (its 400, or the 500 it uses for client mistakes
    and business rules). Retrying the same request will fail the same way."""


class AutotaskNotFound(AutotaskError):
    """No such path (404), or a record that does not exist (`{"item": null}`)."""


class AutotaskThrottled(AutotaskError):
    """Too many requests: the thread limit or the hourly threshold (429), or our own pacing
    stopping before the MSP's hourly budget runs out. `retry_after` in seconds."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, scope: str = "hourly", **kwargs
    ):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.scope = scope  # "thread": too many at once, retry soon; "hourly": come back later


class AutotaskUnavailable(AutotaskError):
    """Autotask did not answer usefully: time-outs, dropped connections, 5xx without a
    usable body, 503. Safe to retry later."""


class AutotaskInsecureUrl(AutotaskError):
    """A real Autotask connection was about to send a request to an http:// address."""
