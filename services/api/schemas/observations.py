"""Bodies of POST /v1/observations (platform push)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.api.schemas.strict import IsoDate, Number


class ObservationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=32, examples=["QS-07"])
    org: str = Field(min_length=1, max_length=24, examples=["150204001000"])
    date: IsoDate
    numerator: Number | None = None
    denominator: Number | None = None
    value: Number | None = None


class ObservationsPush(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observations: list[ObservationBody] = Field(min_length=1)


class PushResult(BaseModel):
    inserted: int
    updated: int
    unchanged: int
