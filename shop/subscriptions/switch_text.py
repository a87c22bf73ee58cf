"""A switch quote in words (R19): the setup fee's computation as the buyer reads it, the same
on the switch page's live preview and in the API."""

from __future__ import annotations

from shop.catalog.products import N_
from shop.i18n import Translator
from shop.subscriptions.service import SwitchOutcome


def explanation(outcome: SwitchOutcome, t: Translator) -> str:
    """The setup fee in words and numbers (R19): the old and new recurring totals, the days
    left of the days in the term, and the result; or why there is none."""
    quote = outcome.quote
    if quote.renewing:
        return t.gettext(
            N_(
                "Your renewal on %(date)s is being prepared: the change comes with it, and the "
                "renewal charges %(new)s for the term %(start)s – %(end)s. No setup fee."
            ),
            date=t.date(quote.effective_at, "long"),
            new=t.money(quote.new_recurring),
            start=t.date(outcome.term_start),
            end=t.date(outcome.term_end),
        )
    if quote.kind == "downgrade":
        return t.gettext(
            N_("A downgrade costs nothing now; from %(date)s the renewal charges %(new)s."),
            date=t.date(quote.effective_at, "long"),
            new=t.money(quote.new_recurring),
        )
    if quote.kind == "unchanged":
        return t.gettext(
            N_("The recurring total stays %(total)s."), total=t.money(quote.new_recurring)
        )
    if quote.prorated is None:
        return ""
    text = t.gettext(
        N_(
            "(%(new)s − %(current)s) × %(days_left)s / %(days_in_term)s days left in the "
            "term = %(fee)s"
        ),
        new=t.money(quote.new_recurring),
        current=t.money(quote.current_recurring),
        days_left=quote.days_left,
        days_in_term=quote.days_in_term,
        fee=t.money(quote.prorated),
    )
    if quote.fee_waived:
        text += " " + t.gettext(N_("Below the minimum charge: waived."))
    return text
