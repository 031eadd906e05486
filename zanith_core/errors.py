"""Errors a user can act on.

Every error zanith raises on purpose is a :class:`ZanithError`; the CLI prints its message as one line
and exits with its ``exit_code``. So it does for a lost database connection and an interruption, which
can strike anywhere (``zanith_core.cli``); anything else reaching the CLI is a bug and keeps its traceback.
"""

from __future__ import annotations


class ZanithError(Exception):
    """An expected failure with a message that says what happened and what to do."""

    exit_code: int = 1


class ConfigError(ZanithError):
    """The project configuration (pyproject.toml, environment, flags) is missing or invalid."""


class InvalidValue(ConfigError):
    """A setting or an option's value is outside what it accepts (docs/configuration.md says what that is);
    refused before anything is written, exit 2 like click's own usage errors."""

    exit_code = 2


class EmbeddedServerMissing(ConfigError):
    """A command needs the embedded PostgreSQL server (no server URL is configured) and the ``embedded`` extra
    is not installed: a deploy host that only runs ``zanith apply`` skips it, so the message says how to
    install it and how to do without it."""


class ConnectionFailed(ZanithError):
    """A database could not be reached; the message names the (password-masked) URL."""


class SourceError(ZanithError):
    """A declared schema source could not be read or did not execute."""


class MigrationFileError(ZanithError):
    """A migration file is malformed; the message names the file."""


class ChecksumMismatch(ZanithError):
    """An applied migration was edited after it was applied."""


class LockBusy(ZanithError):
    """Another zanith process holds the apply lock."""


class StepFailed(ZanithError):
    """A migration step failed; it is recorded in the ledger and the next run resumes there."""

    exit_code = 5


class PlanRefused(ZanithError):
    """A gate refused the plan before anything was written."""

    exit_code = 3


class Irreversible(ZanithError):
    """An operation has no automatic reversal; the message says why."""


class NotAProject(ZanithError):
    """A project command ran where there is no zanith project: no ``[tool.zanith]``, no migrations folder."""

    exit_code = 6


class LedgerAhead(ZanithError):
    """The target's ledger has applied migrations the project's folder does not hold."""

    exit_code = 7


class AdoptionRefused(ZanithError):
    """``zanith baseline`` or ``zanith adopt`` refused to record anything: the ledger or the project is not
    in the state it adopts from (the message says which, and what to do); nothing was written."""

    exit_code = 8
