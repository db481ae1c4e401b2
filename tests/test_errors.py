"""The core's own exceptions share one base, `NebulaError`, and keep the built-in base each
had (a name not found is still a KeyError), so old handlers still catch them."""

from __future__ import annotations

import pytest

from nebula.actions import ActionNotFound, ActionUnavailable, InvalidParams, ParamProblem
from nebula.api import ParamError
from nebula.approvals import ApprovalConflict, ApprovalNotFound
from nebula.builtins.auth.users import UserError, UserNotFound
from nebula.builtins.installer.pip import InstallError
from nebula.builtins.jarvis.conversations import ConversationNotFound
from nebula.builtins.jarvis.engine import JarvisDisabled, MissingExtra
from nebula.config import ConfigError
from nebula.errors import NebulaError
from nebula.plugins import PluginError
from nebula.runs import RunNotFound
from nebula.secret_store import SecretStoreError
from nebula.tokens import TokenNotFound
from nebula.tools import ToolNotFound


@pytest.mark.parametrize(("error", "builtin"), [
    (ConfigError, Exception), (PluginError, Exception), (InstallError, Exception),
    (SecretStoreError, Exception), (TokenNotFound, KeyError), (ToolNotFound, KeyError),
    (UserError, ValueError), (UserNotFound, KeyError), (ConversationNotFound, KeyError),
    (JarvisDisabled, Exception), (MissingExtra, Exception),
    (ActionNotFound, KeyError), (ActionUnavailable, Exception), (InvalidParams, ValueError),
    (ApprovalNotFound, KeyError), (ApprovalConflict, Exception), (RunNotFound, KeyError),
    (ParamError, ValueError)])
def test_core_errors_are_nebula_errors_of_their_old_kind(error, builtin):
    assert issubclass(error, NebulaError) and issubclass(error, builtin)


def test_a_not_found_error_reads_as_before():
    assert str(ToolNotFound("x.y")) == str(KeyError("x.y")) == "'x.y'"
    assert str(ActionNotFound("x.y")) == str(RunNotFound("x.y")) == "'x.y'"


def test_a_param_error_keeps_its_path_and_message():
    """What a plugin raises from `prepare` reads as before and is still a ValueError."""
    error = ParamError("target", "no such container")
    assert (error.path, error.message, str(error)) == (
        "target", "no such container", "target: no such container")
    with pytest.raises(ValueError) as caught:
        raise InvalidParams([ParamProblem("x", "missing"), ParamProblem("y", "bad")])
    assert isinstance(caught.value, NebulaError) and isinstance(caught.value, ParamError)
    assert (caught.value.path, caught.value.message) == ("x", "x: missing; y: bad")
