"""Where appeals go: relay rules, the SMTP transport and outbox delivery."""
