"""Fleet commands: signed by the fleet key (Ed25519), with an expiry and a nonce.

The till verifies the signature, the target, the expiry and that the nonce was never seen, journals the
command in the JET (accepted or rejected, with the reason) and only then acts. Anything unsigned, forged,
expired, replayed or malformed is refused, journaled and never executed.

Wire format on `.../cmd`: {"body": "<JSON text>", "sig": "<base64 Ed25519 over DOMAIN + body>"}; the
body holds id (the correlation id), shop, till, cmd, args, nonce, issued and expires (UTC, ISO 8601).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import sqlite3
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fiscal.journal import JET, transaction
from fiscal.keys import KeyFileError, load_public_pem, verify_signature

if TYPE_CHECKING:
    from kiosk.till import Till

log = logging.getLogger(__name__)

DOMAIN = b"kiosk-fleet-command-v1\n"
COMMANDS = ("ping", "report-x", "archive", "jet-extract", "set-config", "reload-catalogue", "restart")
ALIASES = {("report", "x"): "report-x", ("trigger", "archive"): "archive", ("collect", "jet"): "jet-extract"}
MAX_VALIDITY = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)
ACCEPTED = "FLEET_COMMAND"
REJECTED = "FLEET_COMMAND_REJECTED"
REMOTE_FORBIDDEN = ("shop.id", "till.id")  # a remote change would cut the till off its own topics

REASONS = {
    "malformed": "commande illisible",
    "unsigned": "commande non signée",
    "no_key": "aucune clé de flotte configurée (uplink.fleet_public_key)",
    "bad_signature": "signature invalide",
    "wrong_till": "commande destinée à une autre caisse",
    "expired": "commande expirée",
    "not_yet_valid": "commande datée du futur",
    "too_long": "validité de la commande trop longue (24 h au plus)",
    "replayed": "commande déjà reçue (rejeu)",
    "unknown_command": "commande inconnue",
}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError("not a date")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def normalize(words: list[str]) -> tuple[str, list[str]]:
    """`report x`, `trigger archive`, `collect jet extract`... -> (command, remaining words)."""
    lowered = [w.lower() for w in words]
    for (first, second), name in ALIASES.items():
        if lowered[:2] == [first, second]:
            rest = words[2:]
            if name == "jet-extract" and rest[:1] and rest[0].lower() == "extract":
                rest = rest[1:]
            return name, rest
    return (lowered[0] if lowered else ""), words[1:]


def sign_command(
    key: Ed25519PrivateKey,
    shop: str,
    till: str,
    cmd: str,
    args: dict[str, Any] | None = None,
    *,
    ttl: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
    nonce: str | None = None,
    command_id: str | None = None,
) -> tuple[str, bytes]:
    """(correlation id, message) of a fleet command signed with the fleet's private key."""
    issued = now or datetime.now(UTC)
    body = json.dumps(
        {
            "id": command_id or str(uuid.uuid4()),
            "shop": shop,
            "till": till,
            "cmd": cmd,
            "args": args or {},
            "nonce": nonce or secrets.token_hex(16),
            "issued": _iso(issued),
            "expires": _iso(issued + ttl),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    sig = base64.b64encode(key.sign(DOMAIN + body.encode())).decode("ascii")
    message = json.dumps({"body": body, "sig": sig}).encode()
    return json.loads(body)["id"], message


@dataclass
class Verdict:
    ok: bool
    reason: str = ""
    command: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return REASONS.get(self.reason, self.reason)


def load_fleet_key(path: str) -> Ed25519PublicKey | None:
    if not path:
        return None
    try:
        return load_public_pem(Path(path).read_bytes())
    except (OSError, KeyFileError, ValueError):
        return None


def verify(
    message: bytes,
    public_key: Ed25519PublicKey | None,
    shop: str,
    till: str,
    conn: sqlite3.Connection,
    now: datetime | None = None,
) -> Verdict:
    """Everything short of the nonce's registration (done with the JET record, in one transaction)."""
    now = now or datetime.now(UTC)
    try:
        envelope = json.loads(message)
        body_text = envelope["body"]
        if not isinstance(body_text, str):
            raise TypeError
        body = json.loads(body_text)
        if not isinstance(body, dict) or not isinstance(body.get("args", {}), dict):
            raise TypeError
        for name in ("id", "shop", "till", "cmd", "nonce"):
            if not isinstance(body[name], str) or not body[name]:
                raise TypeError
        issued, expires = _parse_iso(body["issued"]), _parse_iso(body["expires"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return Verdict(False, "malformed")
    sig = envelope.get("sig")
    if not sig or not isinstance(sig, str):
        return Verdict(False, "unsigned", body)
    if public_key is None:
        return Verdict(False, "no_key", body)
    if not verify_signature(public_key, sig, DOMAIN + body_text.encode()):
        return Verdict(False, "bad_signature", body)
    if body["shop"] != shop or body["till"] != till:
        return Verdict(False, "wrong_till", body)
    if expires <= now:
        return Verdict(False, "expired", body)
    if issued > now + CLOCK_SKEW:
        return Verdict(False, "not_yet_valid", body)
    if expires - issued > MAX_VALIDITY:
        return Verdict(False, "too_long", body)
    if conn.execute("SELECT 1 FROM fleet_nonce WHERE nonce = ?", (body["nonce"],)).fetchone():
        return Verdict(False, "replayed", body)
    if body["cmd"] not in COMMANDS:
        return Verdict(False, "unknown_command", body)
    return Verdict(True, "", body)


class CommandError(Exception):
    """A verified command that could not be carried out (French)."""


@dataclass
class CommandRunner:
    """Verifies, journals and runs fleet commands for one till (on the publisher's thread)."""

    till: Till
    public_key: Ed25519PublicKey | None
    shop: str
    till_id: str
    reload_catalogue: Callable[[], str] | None = None
    restart: Callable[[], None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def handle(self, conn: sqlite3.Connection, message: bytes) -> dict[str, Any]:
        """The result to publish: {"id", "ok", "cmd", "result" | "error", "reason"}."""
        now = self.clock()
        verdict = verify(message, self.public_key, self.shop, self.till_id, conn, now)
        body = verdict.command
        summary = {
            "id": str(body.get("id", ""))[:64],
            "cmd": str(body.get("cmd", ""))[:64],
            "nonce": str(body.get("nonce", ""))[:64],
        }
        ledger = self.till.ledger
        if not verdict.ok:
            ledger.record_event(conn, REJECTED, {**summary, "reason": verdict.reason, "size": len(message)})
            return {**summary, "ok": False, "reason": verdict.reason, "error": verdict.message}
        args = dict(body.get("args", {}))
        with transaction(conn):
            conn.execute("DELETE FROM fleet_nonce WHERE expires < ?", (_iso(now),))
            conn.execute(
                "INSERT INTO fleet_nonce (nonce, expires) VALUES (?, ?)", (body["nonce"], body["expires"])
            )
            ledger.append(conn, JET, ACCEPTED, {"event": ACCEPTED, "details": {**summary, "args": args}})
        try:
            result = self.run(conn, body["cmd"], args)
        except CommandError as exc:
            return {**summary, "ok": False, "reason": "failed", "error": str(exc)}
        except Exception as exc:  # journaled as accepted: the fleet must hear how it ended
            log.exception("fleet command %s failed", summary["cmd"])
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = (
                f"Échec de la commande sur la caisse ({type(exc).__name__}) : voir le journal de la caisse."
            )
            return {**summary, "ok": False, "reason": "failed", "error": error}
        return {**summary, "ok": True, "result": result}

    def run(self, conn: sqlite3.Connection, cmd: str, args: dict[str, Any]) -> Any:
        from kiosk import __version__

        if cmd == "ping":
            return {"pong": True, "version": __version__}
        if cmd == "report-x":
            from fiscal.reports import x_report

            try:
                start = date.fromisoformat(args["date"]) if args.get("date") else self.till.clock().date()
            except ValueError:
                raise CommandError("Date invalide : AAAA-MM-JJ.") from None
            return x_report(self.till.ledger, conn, start).as_dict()
        if cmd == "archive":
            return self._archive(args)
        if cmd == "jet-extract":
            return self._jet_extract(conn, args)
        if cmd == "set-config":
            return set_config(self.till, str(args.get("key", "")), args.get("value"))
        if cmd == "reload-catalogue":
            if self.reload_catalogue is not None:
                return {"message": self.reload_catalogue()}
            count = conn.execute("SELECT COUNT(*) FROM article").fetchone()[0]
            return {"message": f"Catalogue relu : {count} articles."}
        if self.restart is None:  # "restart"
            raise CommandError("Redémarrage impossible : la caisse ne tourne pas sous un superviseur.")
        self.restart()
        return {"message": "Redémarrage demandé."}

    def _archive(self, args: dict[str, Any]) -> dict[str, Any]:
        from fiscal.archive import ArchiveError
        from fiscal.journal import FiscalError

        period = str(args.get("period") or (self.till.clock().date() - timedelta(days=1)).isoformat())
        try:
            info = self.till.archive(period, self.till.archive_dir)
        except (ArchiveError, FiscalError) as exc:
            raise CommandError(str(exc)) from None
        except ValueError:
            raise CommandError(f"Période invalide « {period} » : AAAA-MM-JJ, AAAA-MM ou AAAA.") from None
        return {"path": str(info.path), "sha256": info.sha256, "size": info.size}

    def _jet_extract(self, conn: sqlite3.Connection, args: dict[str, Any]) -> list[dict[str, Any]]:
        since, limit = args.get("since", 0), args.get("limit", 500)
        if not isinstance(since, int) or not isinstance(limit, int) or not 0 < limit <= 5000:
            raise CommandError("Paramètres invalides : since (n° d'événement) et limit (1 à 5000).")
        rows = conn.execute(
            "SELECT seq, rtype, ts_utc, body, key_id, sig FROM fiscal_record "
            "WHERE till = ? AND journal = ? AND seq > ? ORDER BY seq LIMIT ?",
            (self.till.ledger.till, JET, since, limit),
        ).fetchall()
        keys = ("seq", "rtype", "ts_utc", "body", "key_id", "sig")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def set_config(till: Till, key: str, value: Any) -> dict[str, Any]:
    """Set one configuration key in the till's own file (validated; applied at the next start)."""
    from kiosk.config import USER_CONFIG_NAME, ConfigError, flatten, load_config

    if key in REMOTE_FORBIDDEN or key.startswith("uplink."):
        raise CommandError(f"{key} ne se modifie pas à distance : réglez-le sur la caisse.")
    sources = till.config.sources
    path = sources[-1] if len(sources) > 1 else till.data_dir / USER_CONFIG_NAME
    try:
        flat = flatten(tomllib.loads(path.read_text("utf-8"))) if path.exists() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CommandError(f"Fichier de configuration illisible ({exc}).") from None
    flat[key] = value
    text = "# Written by the fleet command set-config; one dotted key per line.\n" + "".join(
        f"{name} = {json.dumps(flat[name], ensure_ascii=False)}\n" for name in sorted(flat)
    )
    candidate = path.with_name(path.name + ".new")
    candidate.write_text(text, "utf-8")
    try:
        load_config(candidate)
    except ConfigError as exc:
        candidate.unlink()
        raise CommandError("; ".join(exc.problems)) from None
    candidate.replace(path)
    return {"key": key, "value": value, "message": "Appliqué au prochain démarrage de la caisse."}
