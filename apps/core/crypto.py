"""Encryption of stored secrets with FIELD_ENCRYPTION_KEY (Fernet; several keys rotate)."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEY."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def encrypt_text(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY: was the key "
            "changed without keeping the old one? Enter the secret again."
        ) from None
