"""An unexpected fault of a run → a message for the run record, and a log line without data.

Neither may carry SQL, its parameters or an exception's text: those can hold cells of the export (personal data
of a ratings row among them), and ingest runs are served without a key. The log gets the exception's type, the
database's SQLSTATE and names (table, column, constraint) and the stack frames, which is enough to find the fault.
"""

from __future__ import annotations

import logging
import traceback

from sqlalchemy import exc as sa_exc

# SQLSTATE classes (PostgreSQL appendix A) the operator can act on without reading the code.
_SQLSTATE = {
    "08": "the connection to the database was lost",
    "22": "the database refused a value (out of range or too long)",
    "23": "the database refused a row (a constraint)",
    "40": "the database aborted the transaction (deadlock or serialization); the next run retries",
    "53": "the database is out of resources (disk, memory or connections)",
    "57": "the database cancelled the statement (timeout or shutdown)",
}


def describe(exc: BaseException) -> str:
    """What the run record says about a fault: what happened, that nothing was written, where to look."""
    where = "nothing was written; the collector log has the details"
    if isinstance(exc, sa_exc.DBAPIError | sa_exc.DisconnectionError | ConnectionError) and _unreachable(exc):
        return f"the database is unreachable; {where}; the next run or the catch-up retries"
    if isinstance(exc, sa_exc.DBAPIError):
        state = _sqlstate(exc)
        reason = _SQLSTATE.get((state or "")[:2], "the database refused the write")
        return f"{reason} (SQLSTATE {state or 'unknown'}); {where}"
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return f"the database layer failed; {where}"
    if isinstance(exc, MemoryError):
        return f"the collector ran out of memory; {where}"
    return f"internal error in the collector; {where}"


def kind(exc: BaseException) -> str:
    """Which of the run failures (shared/ingest/models.RUN_FAILURES) an unexpected fault is."""
    if isinstance(exc, sa_exc.SQLAlchemyError | ConnectionError):
        return "database"
    return "internal"


def log_fault(log: logging.Logger, source_id: str, day: object, exc: BaseException) -> None:
    """Log a fault with its type, database codes and frames, never its message (which may quote data)."""
    info = [type(exc).__qualname__]
    state = _sqlstate(exc)
    if state:
        info.append(f"SQLSTATE {state}")
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    for name in ("schema_name", "table_name", "column_name", "constraint_name", "datatype_name"):
        value = getattr(diag, name, None)
        if value:
            info.append(f"{name.removesuffix('_name')} {value}")
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("source %s %s: run failed: %s\n%s", source_id, day, ", ".join(info), frames.rstrip())


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | sa_exc.DisconnectionError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    # psycopg raises OperationalError without a SQLSTATE when it cannot connect at all.
    return isinstance(exc, sa_exc.OperationalError) and (state is None or state.startswith("08"))
