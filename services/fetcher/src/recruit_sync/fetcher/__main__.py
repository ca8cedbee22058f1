from recruit_sync.fetcher.app import SERVICE
from recruit_sync.runtime.service import main

if __name__ == "__main__":
    main(SERVICE)
