"""Secrets at rest: MultiFernet, so a new key can be put first without downtime."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(Exception):
    """A stored secret could not be decrypted with any configured key."""


class SecretBox:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("stored secret does not decrypt with ENCRYPTION_KEY") from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the first key (used by the key-rotation command)."""
        return self._fernet.rotate(ciphertext.encode()).decode()
