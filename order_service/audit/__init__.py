"""The audit: finds drift between the order and inventory services and repairs what it can."""
