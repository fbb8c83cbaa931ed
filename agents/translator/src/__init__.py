"""Translator sample agent."""
