"""Runtime adapters: where agents run (``nasiko.core.ports.Runtime``).

    ProcessRuntime(data_dir, *, ...)   local supervised processes, one venv per agent version

Optional runtimes (docker, kubernetes) live in their own modules and import their SDKs lazily.
"""

from nasiko.runtime.process import ProcessRuntime

__all__ = ["ProcessRuntime"]
