"""Private instances and network faults for the tests that break things (marker ``chaos``)."""
