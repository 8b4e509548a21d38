"""Reporters turn findings into text, JSON, JSON Lines, SARIF or GitLab reports."""
