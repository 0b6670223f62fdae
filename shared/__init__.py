"""Code both services use: configuration, database engine, errors, web plumbing, resilience."""
