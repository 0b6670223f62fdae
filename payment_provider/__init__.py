"""A payment provider to develop and test against, standing in for a hosted one the way
stripe-mock does: its own HTTP API (payment intents, a hosted pay page, capture, refunds), its own
database, signed webhooks sent by a background sender, and its own gremlins (latency, errors,
crashes after commit through ``chaos``; duplicated, delayed, reordered and forged webhooks through
``payment_provider.faults``). ``gunicorn 'payment_provider.app:create_app()'``.

Nothing in the order service imports it: the order service reaches it over HTTP only, as it
would reach a real provider.
"""
