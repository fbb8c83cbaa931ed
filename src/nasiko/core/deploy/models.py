from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from nasiko.core.models import Entity

UploadStatus = Literal[
    "queued", "validating", "building", "deploying", "health-checking", "registered", "failed"
]
STEPS: tuple[UploadStatus, ...] = (
    "validating",
    "building",
    "deploying",
    "health-checking",
    "registered",
)
TERMINAL = ("registered", "failed")
MAX_STEP_LOG = 400  # lines kept per step in the record; the runtime keeps full logs


class Step(BaseModel):
    name: UploadStatus
    status: Literal["pending", "running", "done", "failed"] = "pending"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    log: list[str] = Field(default_factory=list)


class Upload(Entity):
    id: str
    owner_id: str
    agent_id: str | None = None
    slug: str | None = None
    status: UploadStatus = "queued"
    runtime: str = "process"
    source: dict[str, Any]
    options: dict[str, Any] | None = None
    steps: list[Step] = Field(default_factory=lambda: [Step(name=s) for s in STEPS])
    error: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 0
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @field_validator("result", mode="before")
    @classmethod
    def _no_result_yet(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


class GitSource(BaseModel):
    url: str = Field(description="Any git remote: https://, ssh, file://")
    ref: str | None = Field(None, description="Branch, tag or commit.")
    subdir: str | None = Field(None, description="Folder inside the repository.")
    slug: str | None = None
    runtime: Literal["process", "docker"] | None = None
    visibility: Literal["private", "shared", "public"] = "private"
