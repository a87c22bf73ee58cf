"""axe-core in the browser tests (WCAG 2.0 and 2.1, levels A and AA): the engine comes from
the ``axe-playwright-python`` package (its bundled ``axe.min.js``), run in the page as is."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from playwright.sync_api import Page

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# axe's best practices behind WCAG 1.3.1 and 2.4.1 that a page of ours must pass as well:
# everything inside a landmark (the country bar), one main, headings in order, a working
# skip link.
STRUCTURE = [
    "region",
    "landmark-one-main",
    "landmark-unique",
    "landmark-no-duplicate-banner",
    "heading-order",
    "page-has-heading-one",
    "skip-link",
]


@cache
def axe_source() -> str:
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe finds on the page as it is now, for the WCAG 2.1 AA rules and STRUCTURE."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol: the shop's CSP (script-src 'self') stays on.
        page.evaluate(f"() => {{ {axe_source()}\n }}")
    result: dict[str, Any] = page.evaluate(
        "([tags, rules]) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " rules: Object.fromEntries(rules.map(r => [r, {enabled: true}])),"
        " resultTypes: ['violations']})",
        [WCAG_AA, STRUCTURE],
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as a reader fixes them: rule, impact, help, then each element and why."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:8]:
            lines.append(f"    {' '.join(node['target'])}: {node['html'][:160]}")
            if node.get("failureSummary"):
                summary = " ".join(node["failureSummary"].split())
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def assert_no_axe_violations(page: Page, where: str = "") -> None:
    violations = axe_violations(page)
    assert not violations, f"axe on {where or page.url}:\n{describe(violations)}"
