"""Bodies of POST /v1/observations (platform push)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class ObservationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=32, examples=["QS-07"])
    org: str = Field(min_length=1, max_length=24, examples=["150204001000"])
    date: date
    numerator: float | None = Field(default=None, allow_inf_nan=False)
    denominator: float | None = Field(default=None, allow_inf_nan=False)
    value: float | None = Field(default=None, allow_inf_nan=False)


class ObservationsPush(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observations: list[ObservationBody] = Field(min_length=1)


class PushResult(BaseModel):
    inserted: int
    updated: int
    unchanged: int
