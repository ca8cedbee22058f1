from recruit_sync.importer.app import SERVICE
from recruit_sync.runtime.service import main

main(SERVICE)
