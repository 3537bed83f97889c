"""Handoff to a person: requests with the conversation's context."""
