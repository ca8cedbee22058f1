from recruit_sync.history.app import MIGRATIONS_DIR, build_app
from recruit_sync.runtime.service import main

main("history", build_app, MIGRATIONS_DIR)
