"""REST API v1 for agencies and operators (DESIGN section 8)."""
