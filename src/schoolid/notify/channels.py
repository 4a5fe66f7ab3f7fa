"""Delivery channels. E-mail goes over SMTP (Django's mail with EMAIL_* settings); SMS goes through a
driver named by SMS_DRIVER. A driver is a class with `send(to, text)` that raises DeliveryError on
failure; add one to SMS_DRIVERS to support another gateway protocol."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection


class DeliveryError(Exception):
    """The channel did not accept the message; it will be retried."""


class HttpJsonSmsDriver:
    """POSTs {"to": "+E164", "text": "..."} with a bearer token; any non-2xx answer is a failure.

    Each try of one outbox message carries the same Idempotency-Key: a gateway that was slow, took the
    message and answered after our timeout receives the retry with a key it has seen, and can drop it
    (without it the person got the SMS twice: measured by benchmarks/faults.py gateway)."""

    def __init__(self):
        self.url = settings.SMS_GATEWAY_URL
        self.token = settings.SMS_GATEWAY_TOKEN
        self.timeout = settings.SMS_GATEWAY_TIMEOUT
        if not self.url:
            raise DeliveryError("SMS_GATEWAY_URL is not set")

    def send(self, to: str, text: str, key: str | None = None) -> None:
        body = json.dumps({"to": to, "text": text}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if not 200 <= response.status < 300:
                    raise DeliveryError(f"gateway answered {response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"gateway answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"gateway unreachable: {exc}") from exc


class FileSmsDriver:
    """Embedded default: each SMS becomes a file under var/outbox/sms, shown by /dev/outbox."""

    def send(self, to: str, text: str, key: str | None = None) -> None:
        folder = Path(settings.VAR_DIR) / "outbox" / "sms"
        folder.mkdir(parents=True, exist_ok=True)
        name = folder / f"{os.urandom(8).hex()}.json"
        name.write_text(json.dumps({"to": to, "text": text}, ensure_ascii=False), encoding="utf-8")


SMS_DRIVERS = {"http-json": HttpJsonSmsDriver, "file": FileSmsDriver}


def send_sms(to: str, text: str, key: str | None = None) -> None:
    driver = SMS_DRIVERS.get(settings.SMS_DRIVER)
    if driver is None:
        raise DeliveryError(f"unknown SMS_DRIVER {settings.SMS_DRIVER!r}")
    driver().send(to, text, key=key)


def send_email(to: str, subject: str, text: str, key: str | None = None) -> None:
    # Every try of one outbox message has the same Message-ID, so a retry after a timeout that the
    # server had in fact accepted is recognisably the same message.
    headers = {"Message-ID": f"<outbox-{key}@{settings.DEFAULT_FROM_EMAIL.rsplit('@', 1)[-1].strip('> ')}>"} if key else {}
    try:
        with get_connection(timeout=settings.EMAIL_TIMEOUT) as connection:
            EmailMessage(subject=subject, body=text, to=[to], connection=connection, headers=headers).send()
    except (OSError, Exception) as exc:  # smtplib errors, refused connections, TLS failures
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
