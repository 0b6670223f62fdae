"""The laboratory around the product: the local launcher (``make up``), the system under test,
the invariant checker and the bench. Nothing in the services imports it; it is not installed.
"""
