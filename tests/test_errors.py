"""The core's own exceptions share one base, `NebulaError`, and keep the built-in base each
had (a name not found is still a KeyError), so old handlers still catch them."""

from __future__ import annotations

import pytest

from nebula.builtins.auth.users import UserError, UserNotFound
from nebula.builtins.jarvis.conversations import ConversationNotFound
from nebula.builtins.jarvis.engine import JarvisDisabled, MissingExtra
from nebula.config import ConfigError
from nebula.errors import NebulaError
from nebula.plugin_install import InstallError
from nebula.plugins import PluginError
from nebula.secret_store import SecretStoreError
from nebula.tokens import TokenNotFound
from nebula.tools import ToolNotFound


@pytest.mark.parametrize(("error", "builtin"), [
    (ConfigError, Exception), (PluginError, Exception), (InstallError, Exception),
    (SecretStoreError, Exception), (TokenNotFound, KeyError), (ToolNotFound, KeyError),
    (UserError, ValueError), (UserNotFound, KeyError), (ConversationNotFound, KeyError),
    (JarvisDisabled, Exception), (MissingExtra, Exception)])
def test_core_errors_are_nebula_errors_of_their_old_kind(error, builtin):
    assert issubclass(error, NebulaError) and issubclass(error, builtin)


def test_a_not_found_error_reads_as_before():
    assert str(ToolNotFound("x.y")) == str(KeyError("x.y")) == "'x.y'"
