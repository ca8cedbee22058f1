from recruit_sync.history.app import SERVICE
from recruit_sync.runtime.service import main

main(SERVICE)
