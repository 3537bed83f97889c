"""Sending e-mail: ticket confirmations to customers, agents' replies to tickets, team alerts.

SMTP as configured (``BOT_SMTP_*``); without ``BOT_SMTP_HOST`` nothing can be sent, and callers
must not promise an e-mail (``mail_configured``).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Optional

from bot.errors import BotError
from bot.settings import Settings


class MailError(BotError):
    """The e-mail could not be handed to the SMTP server."""


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send_mail(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    reply_to: Optional[str] = None,
) -> str:
    """Send a plain-text e-mail; returns its Message-ID. Raises MailError when it is not sent."""
    if not settings.smtp_host:
        raise MailError("no SMTP server configured (BOT_SMTP_HOST)")
    message = EmailMessage()
    message["From"] = formataddr((settings.mail_from_name, settings.mail_from))
    message["To"] = to
    message["Subject"] = subject.replace("\n", " ")[:200]
    if reply_to:
        message["Reply-To"] = reply_to
    message_id = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message["Message-ID"] = message_id
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user and settings.smtp_password is not None:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"e-mail to {to} not sent: {error}") from error
    return message_id
