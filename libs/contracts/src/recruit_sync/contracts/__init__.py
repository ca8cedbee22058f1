"""recruit-sync's shared vocabulary: events, the sync spec, topology names, RPC shapes. Nothing else."""
