"""Triggers, poisoning and input encoding (the attacker's side of the framework)."""
