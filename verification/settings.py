"""Verification's settings (environment prefix ``VERIFICATION_``)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings
from verification.checks import Thresholds


class VerificationSettings(ServiceSettings):
    """Where verification listens and the automatic checks' thresholds."""

    model_config = SettingsConfigDict(env_prefix="VERIFICATION_", extra="ignore")

    http_port: int = Field(8081, ge=0, le=65535, description="Port of the verifier's API.")
    intake_url: str = Field(
        "http://127.0.0.1:8080",
        validation_alias=AliasChoices("VERIFICATION_INTAKE_URL", "INTAKE_PUBLIC_BASE_URL"),
        description="Intake's address as staff reach it: the reporter's files are "
        "downloaded from there (defaults to INTAKE_PUBLIC_BASE_URL when that is set).",
    )
    min_words: int = Field(
        2, ge=1, description="Fewest meaningful words (not fillers like 'ok', 'tes') of story."
    )
    what_min_words: int = Field(
        6, ge=1, description="Words of story below which 'what happened' counts as missing."
    )
    duplicate_same_reporter: float = Field(
        0.45,
        gt=0,
        le=1,
        description="Word overlap making a report a duplicate of the same "
        "reporter's earlier one (or of one in the same area and category).",
    )
    duplicate_same_place: float = Field(
        0.35,
        gt=0,
        le=1,
        description="Word overlap making a duplicate when both name the same street or place.",
    )
    duplicate_possible: float = Field(
        0.25, gt=0, le=1, description="Word overlap from which a verifier is asked to look."
    )
    duplicate_window_days: int = Field(
        30, ge=0, le=365, description="How far back duplicates are looked for (0: not at all)."
    )
    flood_per_hour: int = Field(
        5, ge=1, description="Reports from one reporter in an hour before a verifier looks."
    )
    gibberish_lexicon_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of known Indonesian words below which a "
        "verifier is asked whether the text is a report at all.",
    )
    gauge_seconds: float = Field(15.0, gt=0, description="How often the queue gauge is recounted.")

    def thresholds(self) -> Thresholds:
        """The checks' thresholds from these settings."""
        return Thresholds(
            min_words=self.min_words,
            what_min_words=self.what_min_words,
            duplicate_same_reporter=self.duplicate_same_reporter,
            duplicate_same_place=self.duplicate_same_place,
            duplicate_possible=self.duplicate_possible,
            duplicate_window_days=self.duplicate_window_days,
            flood_per_hour=self.flood_per_hour,
            gibberish_lexicon_share=self.gibberish_lexicon_share,
        )
