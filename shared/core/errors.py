"""The one error hierarchy of the product; the API renders it, the collector stores it on the ingest run.

ScorecardError(code, message, details)
├── NotFound        unknown indicator, unit, scheme … (404)
├── Conflict        idempotency key reused with another body, concurrent ingest (409)
├── InvalidInput    bad body, bad export row, bad config; details list {row, field, message} (422)
├── Unauthorized    no or unknown API key (401)
└── Forbidden       key lacks the role or the org subtree (403)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One precise complaint about one place in the input (row index or file row, field or column)."""

    message: str
    row: int | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class ScorecardError(Exception):
    message: str
    details: list[Any] = field(default_factory=list)
    code: str = "error"
    status: int = 500

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def details_json(self) -> list[Any]:
        return [d.as_dict() if isinstance(d, Problem) else d for d in self.details]


@dataclass
class NotFound(ScorecardError):
    code: str = "not_found"
    status: int = 404


@dataclass
class Conflict(ScorecardError):
    code: str = "conflict"
    status: int = 409


@dataclass
class InvalidInput(ScorecardError):
    code: str = "invalid_input"
    status: int = 422


@dataclass
class Unauthorized(ScorecardError):
    code: str = "unauthorized"
    status: int = 401


@dataclass
class Forbidden(ScorecardError):
    code: str = "forbidden"
    status: int = 403
