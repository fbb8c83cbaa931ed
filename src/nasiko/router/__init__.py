"""The router edge: POST /route picks the agents that fit a plain-language request."""
