"""One mail from its templates to the outbox: the links mailed to an address (login, trial,
release, a new account e-mail) are each just a template and its values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment
from sqlmodel import Session

from shop.i18n import Translator
from shop.mail.outbox import queue_mail
from shop.mail.render import render_mail
from shop.settings import Settings


def queue_templated(
    session: Session,
    env: Environment,
    settings: Settings,
    template: str,
    *,
    to: str,
    locale: str,
    now: datetime,
    **context: Any,
) -> None:
    """Render ``mail/<template>`` in ``locale`` and queue it to ``to`` (kind: the template)."""
    t = Translator.for_settings(settings, locale)
    mail = render_mail(env, template, t, shop_name=settings.shop_name, **context)
    queue_mail(
        session,
        to=to,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        locale=locale,
        kind=template,
        now=now,
    )
