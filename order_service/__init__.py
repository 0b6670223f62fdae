"""Order service: places orders and keeps them consistent with the inventory service."""
