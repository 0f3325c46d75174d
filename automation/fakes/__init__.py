"""Loopback stand-ins for what notifications talk to: a Telegram-shaped Bot API server and a
webhook receiver that verifies Standard Webhooks signatures. Used by tests, and runnable by hand:
`python -m automation.fakes.telegram --port 8081 --bot 123456:TOKEN…=mybot`."""
