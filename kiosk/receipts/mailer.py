"""E-mail receipts: the French message (text body, receipt as an HTML attachment) and its SMTP delivery.

Errors are sorted for the queue: a server that cannot be reached or answers « try later » is temporary
(the request waits and is tried again); a recipient the server refuses for good is permanent.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from kiosk.config import Config

DOWN_MESSAGE = "le serveur de messagerie ne répond pas"


class MailError(Exception):
    """`message` is for the cashier (French); `detail` the technical cause, kept in the queue row."""

    def __init__(self, message: str, permanent: bool = False, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.detail = detail


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str
    password: str = field(repr=False)  # never in a log line or a traceback's repr
    sender: str
    sender_name: str
    timeout: int

    @classmethod
    def from_config(cls, config: Config) -> MailSettings:
        mail = config.mail
        return cls(
            host=mail.host,
            port=mail.port,
            security=mail.security,
            username=mail.username,
            password=mail.password,
            sender=mail.sender,
            sender_name=config.shop.name,
            timeout=mail.timeout,
        )

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


NOT_CONFIGURED = (
    "Envoi par e-mail non configuré (section [mail] : serveur et adresse d'expédition) : imprimez le "
    "ticket ou envoyez-le par SMS."
)


class Mailer(Protocol):
    settings: MailSettings

    def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """Delivers through the configured SMTP server, one connection per round of sending."""

    def __init__(self, settings: MailSettings):
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        if not s.configured:
            raise MailError(NOT_CONFIGURED)
        try:
            with self._connect() as smtp:
                if s.username:
                    smtp.login(s.username, s.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise MailError(
                    "adresse refusée par le serveur de messagerie : vérifiez-la avec le client",
                    permanent=True,
                ) from None
            raise MailError(f"{DOWN_MESSAGE} (destinataire mis en attente)") from None
        except smtplib.SMTPSenderRefused:
            raise MailError(
                "adresse d'expédition refusée par le serveur, faites vérifier mail.sender dans la configuration",
                detail="sender",
            ) from None
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:  # this message will never be accepted: do not retry for ever
                raise MailError(
                    "message refusé par le serveur de messagerie : renvoyez le ticket plus tard ou imprimez-le",
                    permanent=True,
                ) from None
            raise MailError(DOWN_MESSAGE, detail=f"SMTPDataError {exc.smtp_code}") from None
        except smtplib.SMTPAuthenticationError:
            raise MailError(
                "identifiant ou mot de passe SMTP refusé, faites vérifier la section [mail] de la configuration",
                detail="authentication",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, timeout, TLS, 4xx: try again later
            raise MailError(DOWN_MESSAGE, detail=f"{type(exc).__name__}: {exc}"[:200]) from None


def _html(title: str, receipt: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body><pre style="font-family: monospace; font-size: 14px">'
        f"{html.escape(receipt)}</pre></body></html>\n"
    )


def email_payload(
    shop: str, number: str, when: str, total: str, receipt: str, duplicate: int | None = None
) -> dict[str, Any]:
    """What is queued for an e-mail (everything but the recipient): subject, text, HTML attachment."""
    copy = f" (duplicata n°{duplicate})" if duplicate is not None else ""
    subject = f"Votre ticket n° {number} - {shop}"
    text = (
        f"Bonjour,\n\nVoici votre ticket de caisse n° {number}{copy} du {when}, d'un montant de {total}.\n"
        "Il est aussi joint à ce message.\n\n"
        f"{receipt}\n\n"
        f"Merci de votre visite et à bientôt,\n{shop}\n\n"
        "Votre adresse électronique a servi uniquement à cet envoi : elle n'est pas conservée.\n"
    )
    return {
        "subject": subject,
        "text": text,
        "html": _html(f"Ticket n° {number}", receipt),
        "filename": f"ticket-{number}.html",
    }


def build_email(settings: MailSettings, payload: dict[str, Any], recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = payload["subject"]
    local, _, domain = settings.sender.partition("@")
    message["From"] = Address(settings.sender_name, local, domain)
    message["To"] = recipient
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=domain or None)
    message.set_content(payload["text"])
    message.add_attachment(
        payload["html"].encode("utf-8"),
        maintype="text",
        subtype="html",
        filename=payload["filename"],
    )
    return message
