"""The domain: models, state machines and services written against the ports in ports.py."""
