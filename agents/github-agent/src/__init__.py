"""GitHub Agent sample agent."""
