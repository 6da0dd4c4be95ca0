"""The till's signing key: Ed25519, one per till, private key file mode 0600 under the data directory."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError


class KeyFileError(Exception):
    pass


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_pem(pem: str | bytes) -> Ed25519PublicKey:
    """The first public key of a PEM text (a till's export lists its keys oldest first: the first one
    is the root the others were introduced under)."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    block = re.search(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", data, re.DOTALL)
    if block is None:
        raise KeyFileError("aucune clé publique PEM dans ce fichier")
    key = serialization.load_pem_public_key(block.group(0))
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("ce n'est pas une clé publique Ed25519")
    return key


def verify_signature(public_key: Ed25519PublicKey | bytes, signature_b64: str, message: bytes) -> bool:
    """Ed25519 verification through libsodium (PyNaCl): twice as fast as OpenSSL's here, and the
    verifier spends most of its time there (benchmarks/bench_fiscal.py). `public_key` may be given as
    its 32 raw bytes (`raw_public_key`), as the verifier does once per key rather than per record."""
    try:
        signature = binascii.a2b_base64(signature_b64, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    if len(signature) != 64:
        return False
    raw_key = public_key if isinstance(public_key, bytes) else raw_public_key(public_key)
    try:
        crypto_sign_open(signature + message, raw_key)
    except (BadSignatureError, ValueError):
        return False
    return True


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass
class SigningKey:
    private_key: Ed25519PrivateKey
    path: Path

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    @property
    def public_pem(self) -> str:
        return public_pem(self.public_key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")


def load_or_create_key(path: Path, *, may_create: bool = True) -> tuple[SigningKey, bool]:
    """Load the till key, or create it (0600) on first start; returns (key, created).

    `may_create=False` when the journals already hold signatures: a lost key is then an incident to
    resolve by restoring it (or a recorded rotation), never a silent new key."""
    if not path.exists() and not may_create:
        raise KeyFileError(
            f"{path} : clé fiscale de la caisse introuvable alors que des enregistrements signés existent. "
            "Restaurez-la depuis la sauvegarde du répertoire de données (ne créez pas de nouvelle clé)."
        )
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyFileError(
                f"{path} : clé privée fiscale lisible par d'autres comptes (mode {mode:o}) ; "
                f"faites `chmod 600 {path}` puis relancez la caisse."
            )
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileError(
                f"{path} : ce n'est pas une clé privée Ed25519 ; restaurez la clé de la caisse."
            )
        return SigningKey(private, path), False
    return create_key(path), True


def create_key(path: Path) -> SigningKey:
    """A new Ed25519 key written to `path` (which must not exist), mode 0600, fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    private = Ed25519PrivateKey.generate()
    write_private_key(path, private)
    return SigningKey(private, path)


def write_private_key(path: Path, private: PrivateKeyTypes) -> None:
    """PKCS#8 PEM, created exclusively with mode 0600 and fsynced (the till and archive keys)."""
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())


def pending_key_path(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def retired_key_path(path: Path, key_id: str) -> Path:
    return path.parent / "retired" / f"{key_id}.pem"


def install_rotated_key(path: Path, old_key_id: str) -> None:
    """After the rotation is journaled: keep the old key under retired/, put the new one in place.
    Each step is a rename, so a stop in between is finished at the next start (`finish_rotation`)."""
    pending = pending_key_path(path)
    retired = retired_key_path(path, old_key_id)
    retired.parent.mkdir(mode=0o700, exist_ok=True)
    if path.exists() and not retired.exists():
        os.replace(path, retired)
    os.replace(pending, path)


def finish_rotation(path: Path, registered: set[str]) -> bool:
    """A stop between journaling a rotation and swapping the files: finish the swap (True) when the
    pending key is registered in the journals; a pending key that never was is discarded."""
    pending = pending_key_path(path)
    if not pending.exists():
        return False
    new_key, _ = load_or_create_key(pending, may_create=False)
    if new_key.key_id not in registered:
        pending.unlink()
        return False
    old_key, _ = load_or_create_key(path, may_create=False)
    install_rotated_key(path, old_key.key_id)
    return True
