"""Reading settings from the environment, with errors that name the variable.

Kept apart from settings.py so the rules (what counts as true, what a missing secret
does) are plain functions that tests can call.
"""

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool, environ=os.environ) -> bool:
    """Read a yes/no variable; anything but a known word is an error."""
    raw = environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of {sorted(TRUE_WORDS | FALSE_WORDS - {''})}, not {raw!r}."
    )


def env_int(name: str, default: int, environ=os.environ) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: list[str], environ=os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_secret(
    name: str,
    *,
    debug: bool,
    local_file: Path,
    make_value,
    environ=os.environ,
) -> str:
    """A secret from the environment.

    With DEBUG off a missing value stops start-up. With DEBUG on (local use) a value is
    generated once and kept in ``local_file`` (mode 0600) so sessions and encrypted data
    survive restarts.
    """
    value = environ.get(name, "").strip()
    if value:
        return value
    if not debug:
        raise ImproperlyConfigured(
            f"The environment variable {name} is required when DEBUG is off. "
            f"See README.md, section 'Environment variables'."
        )
    if local_file.exists():
        return local_file.read_text().strip()
    local_file.parent.mkdir(parents=True, exist_ok=True)
    value = make_value()
    fd = os.open(local_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()


def fernet_keys(name: str, raw: str) -> list[str]:
    """Validate a comma-separated list of Fernet keys (the first one encrypts)."""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ImproperlyConfigured(f"{name} holds no key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a Fernet key (32 bytes, url-safe base64). "
                "Make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
    return keys
