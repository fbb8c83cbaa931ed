"""Adapters for the core's ports: SQL repositories, job queues, event buses, caches, crypto."""
