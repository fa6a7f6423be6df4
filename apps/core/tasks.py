"""Worker tasks of the core app."""

from django.utils import timezone


def worker_echo(text: str) -> dict:
    """Round trip through the queue: proves a worker picks up and finishes work."""
    return {"echo": text, "at": timezone.now().isoformat()}
