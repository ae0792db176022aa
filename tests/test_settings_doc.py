"""docs/SETTINGS.md lists exactly the settings the model has, by their environment names."""

import re
from pathlib import Path

from pydantic import BaseModel

from shared.core.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "SETTINGS.md"


def env_names(model: type[BaseModel], prefix: str = "SCORECARD_") -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


class TestSettingsDoc:
    def test_every_setting_is_documented_and_nothing_else(self) -> None:
        documented = set(re.findall(r"`(SCORECARD_[A-Z0-9_]+)`", DOC.read_text(encoding="utf-8")))
        documented.discard("SCORECARD_TEST_DATABASE_URL")  # the test harness's, not the product's
        assert documented == env_names(Settings)

    def test_nested_env_names_reach_the_model(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setenv("SCORECARD_API__PORT", "8123")
        monkeypatch.setenv("SCORECARD_DB__URL", "postgresql://u@h/db")
        s = Settings()
        assert s.api.port == 8123 and s.db.url == "postgresql+psycopg://u@h/db"
