"""One error tree for the whole platform.

    NasikoError                      code            meaning
    ├── InvalidInput                 invalid_input   the request is malformed or a value is wrong
    │   ├── InvalidCard              invalid_card    an A2A agent card failed validation
    │   └── InvalidPackage           invalid_package an uploaded agent package is unusable
    ├── Unauthenticated              unauthenticated no or bad credentials
    ├── Forbidden                    forbidden       authenticated, but not allowed
    ├── NotFound                     not_found       does not exist, or the caller may not see it
    ├── Conflict                     conflict        clashes with existing state
    ├── PayloadTooLarge              payload_too_large
    ├── RateLimited                  rate_limited    too many requests; carries retry_after
    ├── Unavailable                  unavailable     a dependency (agent, database, Redis) is down
    │   └── UpstreamTimeout          upstream_timeout
    ├── BuildFailed                  build_failed    building or starting an agent failed
    └── ConfigurationError           configuration_error

No HTTP status codes here: the API edge maps classes to statuses, the CLI maps them to exit
codes. ``details`` is anything JSON-serialisable that helps a person fix the problem
(field paths, limits, log tails).
"""

from __future__ import annotations

from typing import Any


class NasikoError(Exception):
    code = "error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class InvalidInput(NasikoError):
    code = "invalid_input"


class InvalidCard(InvalidInput):
    code = "invalid_card"


class InvalidPackage(InvalidInput):
    code = "invalid_package"


class Unauthenticated(NasikoError):
    code = "unauthenticated"


class Forbidden(NasikoError):
    code = "forbidden"


class NotFound(NasikoError):
    code = "not_found"


class Conflict(NasikoError):
    code = "conflict"


class PayloadTooLarge(NasikoError):
    code = "payload_too_large"


class RateLimited(NasikoError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class Unavailable(NasikoError):
    code = "unavailable"


class UpstreamTimeout(Unavailable):
    code = "upstream_timeout"


class BuildFailed(NasikoError):
    code = "build_failed"


class ConfigurationError(NasikoError):
    code = "configuration_error"


def error_for(code: str, message: str, details: Any = None) -> NasikoError:
    """Rebuilds an error from its code (e.g. one carried inside a stream event)."""
    todo: list[type[NasikoError]] = [NasikoError]
    while todo:
        cls = todo.pop()
        if cls.code == code and cls is not RateLimited:
            return cls(message, details=details)
        todo += cls.__subclasses__()
    return NasikoError(message, details=details, code=code)
