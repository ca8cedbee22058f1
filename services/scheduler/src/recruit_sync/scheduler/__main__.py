from recruit_sync.runtime.service import main
from recruit_sync.scheduler.app import MIGRATIONS_DIR, build_app

main("scheduler", build_app, MIGRATIONS_DIR)
