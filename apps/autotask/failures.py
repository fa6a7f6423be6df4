"""Autotask's answers other than 200 as typed errors, sorted by their status and words,
and which of them are worth trying again."""

import datetime as dt

import requests

from apps.autotask.errors import (
    AutotaskAuthError,
    AutotaskError,
    AutotaskNotFound,
    AutotaskThrottled,
    AutotaskUnavailable,
    AutotaskValidationError,
)

# Autotask answers most client mistakes with a 500; these words mark one as permanent.
PERMANENT_500_WORDS = (
    "unable to find",
    "invalid",
    "conversion failed",
    "required",
    "exceeds maximum length",
    "does not exist",
    "must",
    "cannot",
    "can only",
    "unable to make changes",
    "no matching records",
    "already",
    "limited to",
)
AUTH_500_WORDS = (
    "unable to authenticate",
    "user name",
    "username",
    "integration code",
    "zone information could not be determined",
    "permission",
    "security level",
    "license",
)


def failure_of(response: requests.Response, url: str) -> AutotaskError:
    status = response.status_code
    messages = _messages(response)
    text = "; ".join(messages) or f"HTTP {status}"
    lowered = text.lower()
    options = {"status": status, "messages": messages or [text], "url": url}
    if "thread threshold" in lowered:
        return AutotaskThrottled(
            text, retry_after=_retry_after(response), scope="thread", **options
        )
    if status == 429:
        return AutotaskThrottled(
            text, retry_after=_retry_after(response) or 15 * 60, scope="hourly", **options
        )
    if status in (401, 403):
        return AutotaskAuthError(text, **options)
    if status == 404:
        return AutotaskNotFound(text, **options)
    if status in (400, 405, 413):
        return AutotaskValidationError(text, **options)
    if status == 500 and messages:
        if any(word in lowered for word in AUTH_500_WORDS):
            return AutotaskAuthError(text, **options)
        if any(word in lowered for word in PERMANENT_500_WORDS):
            return AutotaskValidationError(text, **options)
    return AutotaskUnavailable(text, **options)


def is_retryable(failure: AutotaskError, idempotent: bool) -> bool:
    if isinstance(failure, AutotaskThrottled):
        # Too many at once: refused before any work was done, so retry soon. The
        # hourly threshold: the caller stops and reschedules.
        return failure.scope == "thread"
    if isinstance(failure, AutotaskUnavailable):
        return idempotent
    return False


def _messages(response: requests.Response) -> list[str]:
    try:
        data = response.json()
    except ValueError:
        return []
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list):
            return [
                item.get("message", str(item)) if isinstance(item, dict) else str(item)
                for item in errors
            ]
        if data.get("Message"):
            return [str(data["Message"])]
    return []


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            moment = dt.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT")
        except ValueError:
            return None
        return max(0.0, (moment.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)).total_seconds())
