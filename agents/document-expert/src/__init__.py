"""Document Expert sample agent."""
