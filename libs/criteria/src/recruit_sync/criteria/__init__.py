"""Selection criteria shared by the scheduler (validation) and the fetcher (search planning, filtering)."""
