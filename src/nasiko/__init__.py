"""Nasiko: a self-hostable registry, gateway and orchestrator for A2A agents."""

__version__ = "0.1.0"
