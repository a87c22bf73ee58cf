"""Finding English text a German or Dutch buyer should not see (R34), for page tests."""

from __future__ import annotations

import re
from functools import cache

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from playwright.sync_api import Page

from shop.settings import ROOT

LOCALES_DIR = ROOT / "locales"


def normalise(text: str) -> str:
    """Collapse every kind of whitespace (Babel uses U+00A0 and U+202F) into one space."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


@cache
def catalog_for(lang: str) -> Catalog:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def english_texts_untranslated_in(lang: str) -> list[str]:
    """English texts a buyer must not see on ``lang`` pages: their ``lang`` translation differs
    (or is missing, and the page would fall back to English).

    Texts with placeholders and very short ones (where false matches are likely) are left out.
    """
    english = catalog_for("en")
    texts: set[str] = set()
    for message in english:
        if not message.id:
            continue  # the header
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        if "%(" in msgid or len(msgid) <= 3:
            continue
        foreign = catalog_for(lang).get(msgid)  # plurals are keyed by their singular
        shown = foreign.string if foreign is not None else ""
        shown = shown[0] if isinstance(shown, tuple) else shown
        if shown == msgid:
            continue  # the same word in both languages, e.g. "AMweb"
        texts.add(msgid)
        english_string = message.string[0] if isinstance(message.string, tuple) else message.string
        if english_string and english_string != msgid and "%(" not in english_string:
            texts.add(english_string)
    return sorted(texts)


def occurs(text: str, page_text: str) -> bool:
    """Whether ``text`` occurs in ``page_text`` as whole words."""
    pattern = r"(?<!\w)" + re.escape(normalise(text)) + r"(?!\w)"
    return re.search(pattern, page_text) is not None


def visible_text(page: Page) -> str:
    return normalise(page.inner_text("body"))
