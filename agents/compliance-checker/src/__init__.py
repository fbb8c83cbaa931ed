"""Compliance Checker sample agent."""
