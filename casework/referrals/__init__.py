"""Referral packages (issue 18 item 5): format and offline check (package), contents (build), summary (pdf),
writing one (services)."""
