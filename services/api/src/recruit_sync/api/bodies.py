"""Request bodies the API accepts beyond the contracts' own models (SyncSpec, SyncSpecPatch)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from recruit_sync.contracts.sync_spec import FieldMapping

SuppressionReason = Literal["bounced", "do_not_mail"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewConnection(_Body):
    name: str = Field(min_length=1, max_length=200)
    base_url: str = Field(pattern=r"^https?://", description="Recruit data-centre URL")
    accounts_url: str = Field(pattern=r"^https?://", description="OAuth accounts server")
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)
    primary_email: str | None = None
    daily_credit_budget: int | None = Field(default=None, ge=1)


class Rekey(_Body):
    refresh_token: str | None = Field(default=None, min_length=1)
    client_secret: str | None = Field(default=None, min_length=1)
    primary_email: str | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Rekey:
        if self.refresh_token is None and self.client_secret is None and self.primary_email is None:
            raise ValueError("give at least one of refresh_token, client_secret, primary_email")
        return self


class Suppress(_Body):
    reason: SuppressionReason
    emails: list[str] = Field(min_length=1)


class Unsuppress(_Body):
    emails: list[str] = Field(min_length=1)


class Favourite(_Body):
    name: str = Field(min_length=1, max_length=200)
    mapping: list[FieldMapping]
