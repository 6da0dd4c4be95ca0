"""Staff: users with roles, 6-digit PINs under scrypt, lockout after repeated failures, JET entries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import SqliteDatabase

from fiscal.journal import JET, FiscalLedger

from .store import User

ROLES = {"admin": "administrateur", "manager": "gestionnaire", "cashier": "utilisateur"}
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class LoginError(Exception):
    """Login refused; the message says what to do (French)."""


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str
    role: str

    @property
    def role_label(self) -> str:
        return ROLES[self.role]


def check_pin_format(pin: str) -> None:
    if not re.fullmatch(r"\d{6}", pin):
        raise LoginError("Le code PIN comporte 6 chiffres.")


def hash_pin(pin: str) -> str:
    check_pin_format(pin)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        pin.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def _member(user: User) -> StaffMember:
    return StaffMember(id=user.id, name=user.name, role=user.role)


class StaffService:
    def __init__(
        self,
        db: SqliteDatabase,
        ledger: FiscalLedger,
        clock: Callable[[], datetime],
        max_failed: int = 5,
        lockout_seconds: int = 300,
    ):
        self.db = db
        self.ledger = ledger
        self.clock = clock
        self.max_failed = max_failed
        self.lockout = timedelta(seconds=lockout_seconds)

    def members(self) -> list[StaffMember]:
        order = {"admin": 0, "manager": 1, "cashier": 2}
        users = User.select().where(User.active == True)  # noqa: E712
        return sorted((_member(u) for u in users), key=lambda m: (order[m.role], m.name))

    def create(self, name: str, role: str, pin: str) -> StaffMember:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self.db.atomic():
            user = User.create(name=name, role=role, pin_hash=hash_pin(pin))
            self.ledger.append(
                self.db.connection(),
                JET,
                "USER_CREATED",
                {"event": "USER_CREATED", "user": name, "role": role},
            )
        return _member(user)

    def authenticate(self, user_id: int, pin: str, *, journal: bool = True) -> StaffMember:
        """The member when the PIN matches; otherwise LoginError (counted, journaled, locked out).

        `journal=False` only while the clock is behind the journals: nothing can be signed until a
        manager has confirmed the time, and that confirmation is itself the journaled act."""
        user = User.get_or_none(User.id == user_id, User.active == True)  # noqa: E712
        if user is None:
            raise LoginError("Utilisateur inconnu : choisissez votre nom dans la liste.")
        now = self.clock()
        if user.locked_until and datetime.fromisoformat(user.locked_until) > now:
            minutes = max(1, int((datetime.fromisoformat(user.locked_until) - now).total_seconds() // 60) + 1)
            raise LoginError(
                f"Compte bloqué après trop d'essais : réessayez dans {minutes} min ou appelez un responsable."
            )
        check_pin_format(pin)
        conn = self.db.connection()
        if pin_matches(pin, user.pin_hash):
            with self.db.atomic():
                User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
                if journal:
                    self.ledger.append(conn, JET, "LOGIN", {"event": "LOGIN", "user": user.name})
            return _member(user)
        failed = user.failed_logins + 1
        locked = failed >= self.max_failed
        with self.db.atomic():
            User.update(
                failed_logins=0 if locked else failed,
                locked_until=(now + self.lockout).isoformat() if locked else None,
            ).where(User.id == user.id).execute()
            code = "LOCKOUT" if locked else "LOGIN_FAILED"
            if journal:
                self.ledger.append(conn, JET, code, {"event": code, "user": user.name, "attempt": failed})
        if locked:
            minutes = max(1, int(self.lockout.total_seconds()) // 60)
            raise LoginError(f"Code PIN incorrect. Compte bloqué {minutes} min : appelez un responsable.")
        left = self.max_failed - failed
        raise LoginError(f"Code PIN incorrect. Encore {left} essai(s) avant blocage.")

    def authorize(self, user_id: int, pin: str, action: str, *, journal: bool = True) -> StaffMember:
        """A manager's or admin's PIN for an act a cashier may not do alone (opening the drawer outside a
        sale...): checked like a login (counted, locked out), then the role."""
        member = self.authenticate(user_id, pin, journal=journal)
        if member.role not in ("admin", "manager"):
            raise LoginError(
                f"{member.name} n'est pas responsable : {action} demande le code d'un responsable."
            )
        return member

    def managers(self) -> list[StaffMember]:
        return [m for m in self.members() if m.role in ("admin", "manager")]

    def logout(self, member: StaffMember) -> None:
        self.ledger.record_event(self.db.connection(), "LOGOUT", {"user": member.name})
