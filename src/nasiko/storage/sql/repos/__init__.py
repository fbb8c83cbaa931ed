"""One repository per aggregate; each takes the engine (and crypto where it stores secrets)."""
