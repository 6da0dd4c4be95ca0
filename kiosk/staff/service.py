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
from kiosk.staff.permissions import PermissionDenied, require
from kiosk.store import User

ROLES = {"admin": "administrateur", "manager": "gestionnaire", "cashier": "utilisateur"}
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class LoginError(Exception):
    """Login refused; the message says what to do (French)."""


class StaffError(ValueError):
    """A staff change refused (name taken, last administrator...); the message is French."""


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

    def all_users(self) -> list[tuple[StaffMember, bool]]:
        """Every user with whether they are active (the staff screen also lists deactivated ones)."""
        order = {"admin": 0, "manager": 1, "cashier": 2}
        users = sorted(User.select(), key=lambda u: (not u.active, order.get(u.role, 3), u.name))
        return [(_member(u), bool(u.active)) for u in users]

    def get(self, user_id: int) -> StaffMember | None:
        user = User.get_or_none(User.id == user_id)
        return _member(user) if user is not None else None

    # -- managing users: each act checks the permission table and is journaled (JET) --------------
    def _require(self, by: StaffMember, role: str, act: str, target: str) -> None:
        """`by` may manage users of `role`; a refusal is journaled (PERMISSION_DENIED) then raised."""
        permission = "manage_cashiers" if role == "cashier" else "manage_managers"
        try:
            require(by, permission)
        except PermissionDenied:
            self.ledger.record_event(
                self.db.connection(),
                "PERMISSION_DENIED",
                {"user": by.name, "permission": permission, "act": act, "target": target},
            )
            raise

    def _check_name(self, name: str, user_id: int | None = None) -> str:
        name = " ".join(name.split())
        if not name:
            raise StaffError("Saisissez le nom de l'utilisateur.")
        if len(name) > 30:
            raise StaffError("Nom trop long : 30 caractères au plus.")
        other = User.get_or_none(User.name == name)
        if other is not None and other.id != user_id:
            raise StaffError(f"Le nom « {name} » est déjà pris : ajoutez une initiale pour les distinguer.")
        return name

    @staticmethod
    def _check_role(role: str) -> None:
        if role not in ROLES:
            raise StaffError("Rôle inconnu : administrateur, gestionnaire ou utilisateur.")

    def create(self, name: str, role: str, pin: str, *, by: StaffMember | None = None) -> StaffMember:
        """A new user. `by` is the member creating it (None only when the shop is set up: demo, install)."""
        self._check_role(role)
        if by is not None:
            self._require(by, role, "create", name)
        name = self._check_name(name)
        check_pin_format(pin)
        with self.db.atomic():
            user = User.create(name=name, role=role, pin_hash=hash_pin(pin))
            self.ledger.record_event(
                self.db.connection(),
                "USER_CREATED",
                {"user": name, "role": role, "by": by.name if by else None},
            )
        return _member(user)

    def _target(self, user_id: int) -> User:
        user = User.get_or_none(User.id == user_id)
        if user is None:
            raise StaffError("Utilisateur introuvable : choisissez-le dans la liste.")
        return user

    def update(
        self, by: StaffMember, user_id: int, *, name: str | None = None, role: str | None = None
    ) -> StaffMember:
        """Rename a user or change their role; both the old and the new role must be `by`'s to manage."""
        user = self._target(user_id)
        new_role = role or user.role
        self._check_role(new_role)
        self._require(by, user.role, "edit", user.name)
        if new_role != user.role:
            self._require(by, new_role, "edit", user.name)
            if user.role == "admin" and self._last_admin(user.id):
                raise StaffError("C'est le dernier administrateur : nommez-en d'abord un autre.")
        new_name = self._check_name(name, user.id) if name is not None else user.name
        changes = {}
        if new_name != user.name:
            changes["name"] = [user.name, new_name]
        if new_role != user.role:
            changes["role"] = [user.role, new_role]
        if not changes:
            return _member(user)
        with self.db.atomic():
            User.update(name=new_name, role=new_role).where(User.id == user.id).execute()
            self.ledger.record_event(
                self.db.connection(), "USER_CHANGED", {"user": new_name, "changes": changes, "by": by.name}
            )
        return StaffMember(user.id, new_name, new_role)

    def _last_admin(self, user_id: int) -> bool:
        others = User.select().where(User.role == "admin", User.active == True, User.id != user_id)  # noqa: E712
        return not others.exists()

    def deactivate(self, by: StaffMember, user_id: int) -> None:
        """The user can no longer log in; their tickets and history stay (users are never deleted)."""
        user = self._target(user_id)
        self._require(by, user.role, "deactivate", user.name)
        if user.id == by.id:
            raise StaffError("Vous ne pouvez pas vous désactiver vous-même : demandez à un responsable.")
        if not user.active:
            raise StaffError(f"{user.name} est déjà désactivé(e).")
        if user.role == "admin" and self._last_admin(user.id):
            raise StaffError("C'est le dernier administrateur : nommez-en d'abord un autre.")
        with self.db.atomic():
            User.update(active=False).where(User.id == user.id).execute()
            self.ledger.record_event(
                self.db.connection(), "USER_DEACTIVATED", {"user": user.name, "by": by.name}
            )

    def reactivate(self, by: StaffMember, user_id: int) -> None:
        user = self._target(user_id)
        self._require(by, user.role, "reactivate", user.name)
        if user.active:
            raise StaffError(f"{user.name} est déjà actif(ve).")
        with self.db.atomic():
            User.update(active=True, failed_logins=0, locked_until=None).where(User.id == user.id).execute()
            self.ledger.record_event(
                self.db.connection(), "USER_REACTIVATED", {"user": user.name, "by": by.name}
            )

    def change_own_pin(self, member: StaffMember, old_pin: str, new_pin: str) -> None:
        """A member changes their own PIN, giving the current one first."""
        user = self._target(member.id)
        check_pin_format(new_pin)
        if not re.fullmatch(r"\d{6}", old_pin) or not pin_matches(old_pin, user.pin_hash):
            self.ledger.record_event(self.db.connection(), "PIN_CHANGE_FAILED", {"user": user.name})
            raise LoginError("Code PIN actuel incorrect : rien n'est changé.")
        if new_pin == old_pin:
            raise StaffError("Le nouveau code doit être différent de l'ancien.")
        self._set_pin(user, new_pin, by=member.name)

    def reset_pin(self, by: StaffMember, user_id: int, new_pin: str) -> None:
        """A responsible sets a forgotten PIN (and lifts a lockout); one's own PIN is changed with the old."""
        user = self._target(user_id)
        if user.id == by.id:
            raise StaffError("Pour votre propre code : Menu → Changer mon code PIN (avec l'ancien code).")
        self._require(by, user.role, "reset_pin", user.name)
        check_pin_format(new_pin)
        self._set_pin(user, new_pin, by=by.name)

    def _set_pin(self, user: User, pin: str, by: str) -> None:
        with self.db.atomic():
            User.update(pin_hash=hash_pin(pin), failed_logins=0, locked_until=None).where(
                User.id == user.id
            ).execute()
            self.ledger.record_event(self.db.connection(), "PIN_CHANGED", {"user": user.name, "by": by})

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
