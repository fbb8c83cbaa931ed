"""All configuration in one pydantic-settings object.

Sources, highest priority first: keyword arguments, environment variables (``NASIKO_*``; nested
groups use ``__``, e.g. ``NASIKO_GATEWAY__PORT``; plus the plain ``DATABASE_URL`` and
``REDIS_URL``), a ``nasiko.toml`` file (path from ``NASIKO_CONFIG_FILE``, default
``./nasiko.toml``), then the defaults below. This module imports no other nasiko module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ApiSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Interface the API and web UI listen on.")
    port: int = Field(8000, description="Port of the REST API and web UI.")
    public_url: str | None = Field(
        None, description="URL clients use to reach the API; defaults to http://host:port."
    )
    max_upload_bytes: int = Field(
        200 * 1024 * 1024, description="Largest accepted agent archive upload."
    )
    max_archive_files: int = Field(10_000, description="Most entries an agent archive may hold.")
    max_archive_bytes: int = Field(
        512 * 1024 * 1024, description="Most bytes an agent archive may unpack to (zip bombs)."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Extra origins allowed to call the API from a browser."
    )


class GatewaySettings(BaseModel):
    host: str = Field("127.0.0.1", description="Interface the A2A gateway listens on.")
    port: int = Field(9100, description="Port of the A2A gateway.")
    public_url: str | None = Field(
        None, description="URL A2A clients use to reach the gateway; defaults to http://host:port."
    )
    connect_timeout: float = Field(5.0, description="Seconds to connect to an agent.")
    request_timeout: float = Field(60.0, description="Seconds to wait for a blocking agent reply.")
    stream_timeout: float = Field(
        600.0, description="Seconds a streamed reply may stay silent before it is cut."
    )
    max_body_bytes: int = Field(10 * 1024 * 1024, description="Largest request body (413 above).")
    rate_limit_per_caller: float = Field(
        50.0, description="Sustained requests per second allowed per caller (token bucket)."
    )
    rate_limit_burst: int = Field(100, description="Bucket size for the per-caller rate limit.")
    rate_limit_per_agent: float = Field(
        200.0, description="Sustained requests per second allowed per agent, all callers together."
    )
    endpoint_cooldown: float = Field(
        10.0, description="Seconds a failed agent endpoint is taken out of rotation."
    )
    forward_headers: list[str] = Field(
        default_factory=lambda: [
            "content-type",
            "accept",
            "accept-encoding",
            "a2a-version",
            "a2a-extensions",
            "x-a2a-extensions",
            "user-agent",
            "traceparent",
            "tracestate",
            "baggage",
            "x-request-id",
            "last-event-id",
        ],
        description="Request headers forwarded to agents; everything else is dropped.",
    )
    chat_log_buffer: int = Field(
        10_000, description="Chat-log entries buffered while the store is slow or down."
    )


class RouterSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Interface the router listens on.")
    port: int = Field(8005, description="Port of the router.")
    threshold: float | None = Field(
        None, description="Score below which the router answers 'no agent fits' (None: calibrated)."
    )
    llm_rerank: bool = Field(True, description="Re-rank with an LLM when llm_base_url is set.")


class WorkerSettings(BaseModel):
    concurrency: int = Field(2, description="Deploy jobs one worker runs at once.")
    claim_idle_seconds: float = Field(
        60.0, description="A job unacknowledged this long is claimed by another worker."
    )
    health_timeout: float = Field(120.0, description="Seconds an agent has to become healthy.")
    lease_seconds: float = Field(
        30.0, description="A deploy whose worker stops renewing its lease this long is retried."
    )
    build_timeout: float = Field(900.0, description="Seconds a build may take.")


class RuntimeSettings(BaseModel):
    default: Literal["process", "docker", "kubernetes"] = Field(
        "process", description="Runtime for agents when an upload does not choose one."
    )
    docker_network: str = Field("agents-net", description="Docker network agents join.")
    docker_base_images: dict[str, str] = Field(
        default_factory=dict,
        description="Base-image substitutions for agent Dockerfiles, e.g. "
        '{"python:*": "nasiko/python-base:bookworm"} where no registry is reachable.',
    )
    docker_wheelhouse: bool = Field(
        False,
        description="Build Python dependencies into wheels on the host and install them from "
        "there during `docker build` (for engines without access to a package index).",
    )
    otel_auto_instrument: bool = Field(
        True, description="Start Python agents under OpenTelemetry auto-instrumentation."
    )
    agents_dir: Path | None = Field(
        None, description="Folder of agent packages `nasiko up` deploys at start."
    )
    inherit_site_packages: bool = Field(
        False,
        description="Agent venvs also see the platform's installed packages (fast offline "
        "builds for development and tests; agents may then rely on undeclared packages).",
    )
    start_timeout: float = Field(60.0, description="Seconds a started agent has to listen.")


class ObservabilitySettings(BaseModel):
    otlp_port: int = Field(4318, description="OTLP/HTTP receiver port in `nasiko up`.")
    retention_days: int = Field(14, description="Days spans are kept.")
    allow_unauthenticated_loopback: bool = Field(
        True, description="Accept spans without a token from loopback addresses."
    )
    forward_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP endpoint received spans are also exported to "
        "(also NASIKO_OTLP_FORWARD_ENDPOINT).",
    )
    model_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Extra or overriding prices: model -> (USD per 1M input, per 1M output).",
    )


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(15, description="Lifetime of a JWT access token.")
    refresh_token_days: int = Field(30, description="Lifetime of a refresh token.")
    allow_registration: bool = Field(
        True, description="Anyone may register an account (superusers always can create users)."
    )
    login_max_failures: int = Field(
        5, description="Failed logins per username or IP before backoff starts."
    )
    login_lockout_seconds: float = Field(
        30.0, description="First lockout after too many failures; doubles each time."
    )


class GitHubSettings(BaseModel):
    client_id: str | None = Field(
        None,
        description="OAuth app client id; enables GitHub login (also NASIKO_GITHUB_CLIENT_ID).",
    )
    client_secret: SecretStr | None = Field(
        None, description="OAuth app client secret (also NASIKO_GITHUB_CLIENT_SECRET)."
    )
    oauth_url: str = Field("https://github.com", description="GitHub web/OAuth base URL.")
    api_url: str = Field("https://api.github.com", description="GitHub REST API base URL.")


FLAT_ALIASES = {
    "NASIKO_GITHUB_CLIENT_ID": ("github", "client_id"),
    "NASIKO_GITHUB_CLIENT_SECRET": ("github", "client_secret"),
    "NASIKO_OTLP_FORWARD_ENDPOINT": ("observability", "forward_endpoint"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NASIKO_",
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    env: Literal["development", "production"] = Field(
        "development", description="In production, placeholder secrets are refused."
    )
    data_dir: Path = Field(Path(".nasiko"), description="Where embedded mode keeps its data.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default: SQLite in the data directory.",
        validation_alias=AliasChoices("DATABASE_URL", "NASIKO_DATABASE_URL", "database_url"),
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL; when set, queues, caches, events and rate limits use Redis.",
        validation_alias=AliasChoices("REDIS_URL", "NASIKO_REDIS_URL", "redis_url"),
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Master secret for JWT signing and encryption; default: a key file "
        "generated in the data directory. Comma-separate several to rotate (newest first).",
    )
    admin_username: str = Field("admin", description="Username of the first superuser.")
    admin_password: SecretStr | None = Field(
        None, description="Password of the first superuser; default: random, printed once."
    )
    admin_email: str = Field("admin@localhost", description="E-mail of the first superuser.")
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(False, description="Log as JSON lines instead of human-readable text.")
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint used for optional LLM features."
    )
    llm_api_key: SecretStr | None = Field(None, description="API key for llm_base_url.")
    llm_model: str = Field("gpt-4o-mini", description="Model name for optional LLM features.")

    api: ApiSettings = Field(default_factory=ApiSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    router: RouterSettings = Field(default_factory=RouterSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    github: GitHubSettings = Field(default_factory=GitHubSettings)

    @model_validator(mode="before")
    @classmethod
    def _flat_aliases(cls, data: Any) -> Any:
        """Well-known flat variable names for grouped settings (NASIKO_GITHUB_CLIENT_ID…)."""
        if not isinstance(data, dict):
            return data
        for env_name, (group, key) in FLAT_ALIASES.items():
            value = os.environ.get(env_name)
            if value is None:
                continue
            section = data.get(group)
            section = dict(section) if isinstance(section, dict) else {}
            section.setdefault(key, value)
            data[group] = section
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("NASIKO_CONFIG_FILE", "nasiko.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    @property
    def sql_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'nasiko.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sql_url.startswith("sqlite")

    @property
    def api_url(self) -> str:
        return (self.api.public_url or f"http://{self.api.host}:{self.api.port}").rstrip("/")

    @property
    def router_url(self) -> str:
        return f"http://{self.router.host}:{self.router.port}"

    @property
    def gateway_url(self) -> str:
        return (
            self.gateway.public_url or f"http://{self.gateway.host}:{self.gateway.port}"
        ).rstrip("/")
