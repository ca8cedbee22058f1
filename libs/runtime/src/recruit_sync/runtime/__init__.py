"""Runtime plumbing shared by the services: settings, logging, database, broker, secrets, RPC."""
