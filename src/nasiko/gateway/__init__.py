"""The A2A gateway edge: one authenticated, traced, rate-limited entry point to every agent."""
