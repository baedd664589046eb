"""Client side of the county sync protocol and the protocol definitions shared with the server."""
