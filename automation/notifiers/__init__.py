"""One module per channel kind: email, telegram, webhook. Each `send` returns a base.Result."""
