"""Verification's settings (environment prefix ``VERIFICATION_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class VerificationSettings(ServiceSettings):
    """Where verification listens and what counts as an empty report."""

    model_config = SettingsConfigDict(env_prefix="VERIFICATION_", extra="ignore")

    http_port: int = Field(8081, ge=0, le=65535, description="Port of the verifier's API.")
    min_words: int = Field(
        3, ge=1, description="Fewest words of story (letters, not digits) a report needs."
    )
