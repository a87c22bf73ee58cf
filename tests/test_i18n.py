"""Languages (R34): negotiation, complete catalogs, messages kept in step with the code."""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from shop.i18n import LOCALES, Translator, negotiate, parse_accept_language
from shop.money import Money

ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = ROOT / "locales"


def catalog(locale: str):
    with open(LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


def test_accept_language_is_read_by_quality() -> None:
    assert parse_accept_language("en;q=0.5, nl-BE, de;q=0.8") == ["nl-BE", "de", "en"]
    assert parse_accept_language("fr;q=0, *;q=0.1") == ["*"]
    assert parse_accept_language(None) == []


def test_r34_locale_from_url_then_choice_then_header() -> None:
    assert negotiate("de", "nl", accept_language="en") == "de"
    assert negotiate(None, "nl", accept_language="de") == "nl"
    assert negotiate(None, None, accept_language="fr-FR, nl-NL;q=0.9") == "nl"
    assert negotiate("xx", accept_language="pt") == "en"


@pytest.mark.parametrize("locale", ["de", "nl"])
def test_r34_every_message_is_translated(locale: str) -> None:
    def done(string: str | tuple[str, ...]) -> bool:
        return all(string) if isinstance(string, tuple) else bool(string)

    untranslated = [m.id for m in catalog(locale) if m.id and (m.fuzzy or not done(m.string))]
    assert untranslated == []


@pytest.mark.parametrize("locale", ["de", "nl"])
def test_r34_placeholders_survive_translation(locale: str) -> None:
    for message in catalog(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)s", " ".join(ids)))
        for text in strings:
            assert set(re.findall(r"%\((\w+)\)s", text)) <= wanted | {"num"}, message.id


def test_r34_catalogs_hold_every_message_in_the_code(tmp_path: Path) -> None:
    """A text added to a template or module without `make messages` fails here."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(pot, "rb") as f:
        in_code = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    for locale in LOCALES:
        in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(locale) if m.id}
        assert in_code - in_catalog == set(), f"run `make messages` and translate ({locale})"


def test_r34_money_and_dates_follow_the_locale() -> None:
    price = Money.of("1234.50", "EUR")
    shown = {loc: Translator.for_locale(LOCALES_DIR, loc).money(price) for loc in LOCALES}
    assert shown["de"].replace("\xa0", " ") == "1.234,50 €"
    assert shown["nl"].replace("\xa0", " ") == "€ 1.234,50"
    assert shown["en"] == "€1,234.50"
    german = Translator.for_locale(LOCALES_DIR, "de")
    assert german.date(datetime.date(2025, 4, 1), "long") == "1. April 2025"
    assert german.country("DZ") == "Algerien"
    assert german.ngettext("per month", "every %(num)s months", 3) == "alle 3 Monate"
