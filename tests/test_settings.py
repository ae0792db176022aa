"""Bad configuration gets a precise error naming the variable."""

import pytest
from pydantic import ValidationError

from shared.core.cli import guarded
from shared.core.settings import Settings, get_settings, json_variables


class TestSettingsValidation:
    def test_defaults_use_sqlite_under_var(self) -> None:
        s = Settings(_env_file=None)  # type: ignore[call-arg]
        assert s.db.url.startswith("sqlite+aiosqlite:///") and s.db.url.endswith("var/scorecard.db")

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("SCORECARD_DB__URL", "mysql://x", "postgresql+psycopg"),
            ("SCORECARD_API__PORT", "99999", "less than or equal to 65535"),
            ("SCORECARD_RATINGS__LEVEL_POINTS", '{"5": 100}', "levels 1, 2, 3, 4 and 5"),
            ("SCORECARD_SCORING__NEAR_THRESHOLD", "2", "less than or equal to 1"),
        ],
    )
    def test_bad_values_name_the_setting(self, monkeypatch, name, value, message) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError) as err:
            Settings(_env_file=None)  # type: ignore[call-arg]
        assert message in str(err.value)


class TestCommandsOnBadConfiguration:
    @pytest.mark.parametrize("name", ["SCORECARD_API__CORS_ORIGINS", "SCORECARD_RATINGS__LEVEL_POINTS"])
    def test_a_list_or_mapping_that_is_not_json_is_named_not_a_traceback(self, monkeypatch, capsys, name) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setenv(name, "https://dash.example")
        get_settings.cache_clear()
        try:
            assert guarded(lambda settings: 0) == 2
        finally:
            get_settings.cache_clear()
        err = capsys.readouterr().err
        assert err.startswith("configuration error") and f"{name}: not JSON" in err and "Traceback" not in err

    def test_json_settings_are_the_list_and_mapping_fields(self) -> None:
        assert json_variables() == ["SCORECARD_API__CORS_ORIGINS", "SCORECARD_RATINGS__LEVEL_POINTS",
                                    "SCORECARD_DASHBOARD__SOURCES"]
