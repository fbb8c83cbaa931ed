"""Test doubles shipped with nasiko: fake runtime, fake LLM and GitHub servers."""
