"""Fault injection ("gremlins") for the inventory service."""
