from recruit_sync.runtime.service import main
from recruit_sync.scheduler.app import SERVICE

main(SERVICE)
