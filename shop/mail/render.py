"""Mail texts come from Jinja templates, in the buyer's language, like the pages do (R34).

A mail is a pair ``templates/mail/<name>.txt`` and ``templates/mail/<name>.html`` that
extend ``mail/base.txt`` and ``mail/base.html``. The subject lives in the text template's
``{% block subject %}``, so a mail's wording stays in one place and is translated with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from jinja2.utils import concat

from shop.i18n import Translator

SUBJECT_BLOCK = "subject"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _tidy_text(text: str) -> str:
    """Template tags leave blank lines behind; a plain-text mail shows every one of them."""
    return re.sub(r"\n{3,}", "\n\n", text.strip("\n")) + "\n"


def render_mail(env: Environment, template: str, t: Translator, **context: Any) -> RenderedMail:
    """Render the mail ``template`` with the translator ``t`` (the gettext callables read it).

    The subject is the text template's ``subject`` block, rendered on its own and folded to
    one line (a mail header cannot hold a line break). The bodies also see ``subject``, for
    the HTML title.
    """
    text_template = env.get_template(f"mail/{template}.txt")
    html_template = env.get_template(f"mail/{template}.html")
    values = {**context, "t": t}
    block = text_template.blocks.get(SUBJECT_BLOCK)
    if block is None:
        raise LookupError(f"mail/{template}.txt has no {{% block {SUBJECT_BLOCK} %}}")
    subject = " ".join(concat(block(text_template.new_context(values))).split())
    values["subject"] = subject
    return RenderedMail(
        subject=subject,
        text=_tidy_text(text_template.render(values)),
        html=html_template.render(values),
    )
