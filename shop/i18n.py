"""Languages (R34): de, nl and en through Babel message catalogs; money and dates by Babel."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pycountry
from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

from shop.money import Money

if TYPE_CHECKING:
    from shop.settings import Settings

LOCALES = ("de", "nl", "en")
DEFAULT_LOCALE = "en"
DEFAULT_TIME_ZONE = "Europe/Berlin"  # Settings.timezone's default (SHOP_TIMEZONE)
Day = date  # the type, where Translator.date (the method) hides its name


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an Accept-Language header, best first (q=0 dropped)."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)  # a preference weight, not money
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _q, _p, tag in sorted(weighted)]


def negotiate(*choices: str | None, accept_language: str | None = None) -> str:
    """The first supported locale among explicit choices (URL, cookie), else the header's."""
    for choice in choices:
        if choice and choice.lower() in LOCALES:
            return choice.lower()
    for tag in parse_accept_language(accept_language):
        language = tag.replace("_", "-").split("-")[0].lower()
        if language in LOCALES:
            return language
    return DEFAULT_LOCALE


@cache
def _translations(
    locales_dir: Path, locale: str, plugin_dirs: tuple[Path, ...] = ()
) -> NullTranslations:
    """The shop's catalog for ``locale`` with each plugin's merged in (a plugin's own
    messages, or its wording of a core message)."""
    translations = Translations.load(str(locales_dir), [locale], "messages")
    for folder in plugin_dirs:
        theirs = Translations.load(str(folder), [locale], "messages")
        if isinstance(translations, Translations) and isinstance(theirs, Translations):
            translations.merge(theirs)
        elif isinstance(theirs, Translations):
            translations = theirs
    return translations


# The countries ISO 3166-1 assigns (pycountry's copy of the standard). CLDR's territories
# also hold regions and groups ("EU", "EZ", "UN", "QO") and test codes ("XA", "XB").
ISO_COUNTRIES = frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def country_names(locale: str) -> dict[str, str]:
    """ISO 3166 countries' alpha-2 codes and their names in ``locale`` (Babel's CLDR data),
    sorted by name as the locale sorts them."""
    territories = Locale.parse(locale).territories
    pairs = [(code, territories.get(code, code)) for code in ISO_COUNTRIES]
    return dict(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


def _sort_key(name: str) -> str:
    # "Österreich" between "Oman" and "Pakistan", not after "Zypern".
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def is_country(code: str) -> bool:
    return code in ISO_COUNTRIES


class CountryName(str):
    """A country code in a message's parameters: shown as the country's name."""


@dataclass(frozen=True)
class Translator:
    """Everything language-dependent for one request: messages, money, numbers, and dates
    and times in the shop's time zone."""

    locale: str
    translations: NullTranslations
    zone: ZoneInfo = field(default=ZoneInfo(DEFAULT_TIME_ZONE))

    @classmethod
    def for_locale(
        cls,
        locales_dir: Path,
        locale: str,
        plugin_dirs: tuple[Path, ...] = (),
        time_zone: str = DEFAULT_TIME_ZONE,
    ) -> Translator:
        return cls(locale, _translations(locales_dir, locale, plugin_dirs), ZoneInfo(time_zone))

    @classmethod
    def for_settings(cls, settings: Settings, locale: str) -> Translator:
        """The translator of ``locale`` with the shop's catalogs and its plugins', showing
        times in the shop's time zone (``SHOP_TIMEZONE``)."""
        return cls.for_locale(
            settings.locales_dir, locale, settings.plugin_locales, settings.timezone
        )

    def gettext(self, message: str, **params: Any) -> str:
        text = self.translations.gettext(message)
        if not params:
            return text
        shown = {k: self.country(v) if isinstance(v, CountryName) else v for k, v in params.items()}
        return text % shown

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": n, **params}

    def money(self, money: Money) -> str:
        return format_currency(money.amount, money.currency, locale=self.locale)

    def local(self, moment: datetime) -> datetime:
        """A stored moment in the shop's time zone (a naive one, as SQLite gives it back, is
        UTC)."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(self.zone)

    def date(self, value: date | datetime, format: str = "medium") -> str:
        """The one way pages, e-mails and PDFs show a date or a moment: a moment in the
        shop's time zone ("02.12.2026, 17:34:10" in Berlin for 16:34:10 UTC), by Babel."""
        if isinstance(value, datetime):
            return format_datetime(self.local(value), format, tzinfo=self.zone, locale=self.locale)
        return format_date(value, format, locale=self.locale)

    def day(self, value: Day | datetime, format: str = "medium") -> str:
        """The calendar day only; a moment's day is the one in the shop's time zone."""
        if isinstance(value, datetime):
            value = self.local(value).date()
        return format_date(value, format, locale=self.locale)

    def decimal(self, value: Decimal) -> str:
        """An exact number as written in the locale ("0,94" in de), every digit kept."""
        return format_decimal(
            value.normalize(), format="#,##0.###", decimal_quantization=False, locale=self.locale
        )

    def percent(self, fraction: Decimal, digits: int = 2) -> str:
        """A fraction as a percentage of the locale ("1,00 %" in de, "1.00%" in en)."""
        pattern = Locale.parse(self.locale).percent_formats[None].pattern
        decimals = "#,##0." + "0" * digits if digits else "#,##0"
        return format_percent(
            fraction, format=pattern.replace("#,##0", decimals), locale=self.locale
        )

    def period(self, months: int | None) -> str:
        """How often a price is charged: "per year", "per month", "one-time"."""
        if months is None:
            return self.gettext("one-time")
        if months == 12:
            return self.gettext("per year")
        return self.ngettext("per month", "every %(num)s months", months)

    def country(self, code: str) -> str:
        return country_names(self.locale).get(code, code)

    def language_name(self, locale: str) -> str:
        return (Locale.parse(locale).get_display_name(locale) or locale).capitalize()
