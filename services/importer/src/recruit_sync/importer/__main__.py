from recruit_sync.importer.app import MIGRATIONS_DIR, SCHEMA, build_app
from recruit_sync.runtime.service import main

main(SCHEMA, build_app, MIGRATIONS_DIR)
