"""REST API for monitoring: checks, their recent results and their statistics."""
