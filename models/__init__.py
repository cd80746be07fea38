"""The domain, pure: codes, rules, the disposition catalogue, statistics, and the store's tables and schemas."""
