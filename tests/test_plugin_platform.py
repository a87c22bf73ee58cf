"""What a plugin can bring besides products: its settings, routes and commands."""

from __future__ import annotations

from decimal import Decimal

import click
import pytest
from click.testing import CliRunner
from litestar import get
from litestar.testing import TestClient

from shop import hookimpl
from shop.app import create_app
from shop.clock import Clock
from shop.db import make_engine, session_scope
from shop.plugins.manager import Plugins, get_plugin_manager
from shop.plugins.settings import PluginSettingsInvalid, Setting, shown
from shop.plugins.state import set_enabled
from shop.settings import Settings

NOW = "2025-04-01T09:00:00+00:00"


class GreeterPlugin:
    """Greets: a setting, a route and a command."""

    @hookimpl
    def shop_settings(self) -> list[Setting]:
        return [
            Setting("greeting", default="Hello"),
            Setting("fee", type=Decimal, default=Decimal("1.50")),
            Setting("api_key", secret=True, required=True),
        ]

    @hookimpl
    def shop_routes(self) -> list[object]:
        @get("/greeter/hello", sync_to_thread=False)
        def hello() -> dict[str, str]:
            return {"hello": "world"}

        return [hello]

    @hookimpl
    def shop_commands(self, cli: click.Group) -> None:
        @cli.command("greet")
        def greet() -> None:
            click.echo("greetings from a plugin")


def greeter() -> Plugins:
    return Plugins(get_plugin_manager(extra=[("greeter", GreeterPlugin())]))


def test_shop_settings_are_read_from_their_own_variables_typed_and_redacted() -> None:
    plugins = greeter()
    settings = plugins.configure(
        Settings(), {"SHOP_GREETER_FEE": "2.25", "SHOP_GREETER_API_KEY": "sk_live_secret"}
    )
    own = settings.plugin("greeter")
    assert own["greeting"] == "Hello" and own["fee"] == Decimal("2.25")
    declared = {s.name: s for s in plugins.declared_settings["greeter"]}
    assert shown(declared["api_key"], own["api_key"]) == "•••• (set)"
    assert "sk_live_secret" not in repr(settings)
    assert plugins.missing_settings("greeter", settings) == ()
    unset = plugins.configure(Settings(), {})
    assert plugins.missing_settings("greeter", unset) == ("SHOP_GREETER_API_KEY",)
    # Another process gets the same values from the variables handed to it.
    again = plugins.configure(Settings(), plugins.settings_env(settings))
    assert again.plugin("greeter") == own


def test_shop_settings_that_do_not_convert_stop_the_start_naming_the_variable() -> None:
    with pytest.raises(PluginSettingsInvalid, match="SHOP_GREETER_FEE") as caught:
        greeter().configure(Settings(), {"SHOP_GREETER_FEE": "a lot"})
    assert "decimal" in str(caught.value)


def test_shop_routes_are_served_beside_the_shop_while_the_plugin_is_enabled(
    seeded: Settings,
) -> None:
    plugins = greeter()
    with TestClient(create_app(seeded, plugins=plugins)) as client:
        assert client.get("/greeter/hello").status_code == 404  # third-party: off at first
        engine = make_engine(seeded.database_url)
        with session_scope(engine) as session:
            set_enabled(session, plugins, "greeter", True, Clock.from_setting(NOW, "UTC").now())
        assert client.get("/greeter/hello").json() == {"hello": "world"}
        with session_scope(engine) as session:
            set_enabled(session, plugins, "greeter", False, Clock.from_setting(NOW, "UTC").now())
        engine.dispose()
        assert client.get("/greeter/hello").status_code == 404


def test_shop_commands_join_the_shop_command() -> None:
    group = click.Group("shop")
    get_plugin_manager(extra=[("greeter", GreeterPlugin())]).hook.shop_commands(cli=group)
    result = CliRunner().invoke(group, ["greet"])
    assert result.exit_code == 0 and "greetings from a plugin" in result.output
