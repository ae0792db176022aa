"""The one settings object (pydantic-settings): read from the environment / `.env`, passed in, never global.

Every field is listed in docs/SETTINGS.md; tests/test_settings_doc.py keeps the two in step.
"""

from __future__ import annotations

import typing
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class DatabaseSettings(BaseModel):
    url: str = Field(
        default=f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'scorecard.db'}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+psycopg://user:pw@host/db",
    )
    owner_url: str | None = Field(
        default=None,
        description="URL of the role that owns the schema, used only by migrations (make migrate, the container "
        "start); empty = `url`. The application's own role then owns nothing",
    )
    app_role: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL role the application connects as: every migration grants it reading and writing "
        "the tables, and on the audit log only SELECT and INSERT; empty = no grants",
    )
    pool_size: int = Field(default=10, ge=1, description="connections kept per process (PostgreSQL)")
    echo: bool = Field(default=False, description="log every SQL statement")

    @field_validator("url", "owner_url")
    @classmethod
    def _async_driver(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            return "postgresql+psycopg://" + url.split("://", 1)[1]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
        if not (url.startswith("postgresql+psycopg://") or url.startswith("sqlite+aiosqlite://")):
            raise ValueError("use postgresql+psycopg://… or sqlite+aiosqlite:///path")
        return url


class ApiSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="address the API listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="port the API listens on")
    key_pepper: str = Field(
        default="", description="optional server-side secret mixed into API-key hashes (HMAC-SHA256)"
    )
    read_requires_key: bool = Field(
        default=False, description="when true, every GET under /v1 needs a key (any role); false = open reads"
    )
    read_key_seconds: float = Field(
        default=5.0, ge=0, le=300,
        description="a key that passed on a read is taken for this long without a look-up (0 = look it up on every "
        "read); a revoked key stops writing at once and reading within this time",
    )
    max_push_rows: int = Field(default=50_000, ge=1, description="largest POST /v1/observations body, rows")
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="largest request body, bytes; more is refused with 413 unread"
    )
    body_timeout_seconds: float = Field(
        default=60,
        gt=0,
        description="how long a request body may take to arrive in full; a slower one is refused with 408, unread "
        "(a client trickling its body would otherwise hold its connection for ever)",
    )
    answer_cache_mb: int = Field(
        default=64,
        ge=0,
        description="memory per API process for computed answers (values, dashboards, scores, rankings, published "
        "documents), kept under the revision every write counts up; 0 = off",
    )
    revision_listen: bool = Field(
        default=True,
        description="PostgreSQL: LISTEN for the data revision every write NOTIFYs, so kept answers need no round "
        "trip; false where the database URL goes through a transaction-pooling proxy (pgbouncer "
        "pool_mode=transaction), which does not pass notifications on",
    )
    revision_heartbeat_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="PostgreSQL: how often the API's LISTEN connection reads the data revision itself; kept answers "
        "are served without a round trip only while the last heartbeat is at most twice this old",
    )
    max_indicators: int = Field(default=20, ge=1, description="indicator codes per GET /v1/values, repeats counted")
    max_value_cells: int = Field(
        default=5_000, ge=1, description="periods × units × indicators one GET /v1/values may ask for"
    )
    read_timeout_seconds: float = Field(
        default=30, gt=0, description="PostgreSQL statement_timeout of the API's read sessions; then 503"
    )
    lock_wait_seconds: float = Field(
        default=10, gt=0, description="how long a write waits for a lock (an indicator a collector run holds); then 503"
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="Retry-After sent with a 503 (database down or busy)")
    cors_origins: list[str] = Field(
        default=[], description="origins allowed to call the API from a browser (CORS); empty = no CORS headers"
    )


class CollectorSettings(BaseModel):
    sources_file: Path = Field(
        default=REPO_ROOT / "services" / "collector" / "sources.yaml", description="the sources file"
    )
    catch_up_days: int = Field(default=7, ge=0, description="days fetched again at start for daily sources")
    misfire_grace_seconds: int = Field(default=300, ge=1, description="how late a missed cron run may still start")
    xlsx_max_unpacked_mb: int = Field(
        default=200, ge=1, description="largest size an XLSX export may unpack to, MB; a larger one fails unopened"
    )
    xlsx_max_ratio: int = Field(
        default=100, ge=2, description="largest unpacked/packed ratio of an XLSX part over 1 MB (real sheets: ~15)"
    )
    xlsx_max_rows: int = Field(default=1_000_000, ge=1, description="rows an XLSX sheet may have; more fails the run")
    ratings_max_rows: int = Field(
        default=300_000, ge=1, description="rows a ratings export may have: its ratings are held at once (about "
        "0.8 KB each) to count the day's figures; more fails the run unwritten"
    )
    json_max_mb: int = Field(
        default=50, ge=1, description="largest JSON export, MB: a JSON document is read whole (about 4× its size in "
        "memory); a larger one fails unread"
    )


class ScoringSettings(BaseModel):
    achievement_cap: float | None = Field(default=1.0, description="achievement is capped here; empty = no cap")
    near_threshold: float = Field(default=0.9, gt=0, le=1, description="achievement from which status is 'near'")
    normalise_to_applicable: bool = Field(
        default=True,
        description="a unit that does not undertake some items scores awarded / applicable max × 100; false = raw",
    )


class RatingSettings(BaseModel):
    level_points: dict[int, float] = Field(
        default={5: 100, 4: 80, 3: 60, 2: 40, 1: 20},
        description="好差评 level → 分 (5 非常满意 … 1 非常不满意), PRODUCT.md §2.4",
    )
    rectify_working_days: int = Field(default=15, ge=1, description="deadline to 核实/整改 a bad rating")

    @field_validator("level_points")
    @classmethod
    def _all_levels(cls, points: dict[int, float]) -> dict[int, float]:
        if sorted(points) != [1, 2, 3, 4, 5]:
            raise ValueError("give points for exactly the levels 1, 2, 3, 4 and 5")
        return points


class ObservationSettings(BaseModel):
    max_figure: float = Field(
        default=1e12,
        gt=0,
        le=1e15,
        description="largest numerator, denominator or value accepted for a figure (an indicator's own "
        "max_figure in the catalogue may lower it); above it, or not finite, the row is rejected",
    )


class LogSettings(BaseModel):
    format: Literal["text", "json"] = Field(
        default="text",
        description="text lines, or JSON lines (one object per line: time, level, logger, message, request_id) "
        "for a log collector; never personal data",
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="lowest level logged")


class SourceSchedule(BaseModel):
    every_minutes: int = Field(ge=1, description="the interval of the source's cron schedule, minutes")
    scope: str = Field(description="the unit whose subtree the source writes for (its `scope:` in sources.yaml)")


_SIMULATED_SOURCES = {
    name: SourceSchedule(every_minutes=5, scope="150204000000") for name in ("wangban", "yichuang", "haochaping")
}


class DashboardSettings(BaseModel):
    sources: dict[str, SourceSchedule] = Field(
        default=_SIMULATED_SOURCES,
        description="the collector's sources as the dashboard's stale_source warning sees them: id → "
        "{every_minutes, scope}; keep in step with the collector's sources file",
    )
    source_grace_minutes: int = Field(
        default=60, ge=0, description="a source is stale when its last good run is older than its interval plus this"
    )


class UiSettings(BaseModel):
    default_org: str = Field(
        default="150204000000",
        min_length=1,
        max_length=24,
        description="the jurisdiction whose dashboard the built-in web view /ui/ opens on (unit code)",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SCORECARD_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    environment: str = Field(default="development", description="development | production")
    log: LogSettings = LogSettings()
    db: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    collector: CollectorSettings = CollectorSettings()
    scoring: ScoringSettings = ScoringSettings()
    ratings: RatingSettings = RatingSettings()
    observations: ObservationSettings = ObservationSettings()
    dashboard: DashboardSettings = DashboardSettings()
    ui: UiSettings = UiSettings()


def json_variables() -> list[str]:
    """The variables whose value is JSON (a list or a mapping, e.g. SCORECARD_API__CORS_ORIGINS='["https://…"]')."""
    out = []
    for group, group_field in Settings.model_fields.items():
        model = group_field.annotation
        for name, f in (model.model_fields.items() if isinstance(model, type) and issubclass(model, BaseModel) else ()):
            if typing.get_origin(f.annotation) in (list, dict):
                out.append(f"SCORECARD_{group.upper()}__{name.upper()}")
    return out


@lru_cache
def get_settings() -> Settings:
    return Settings()
