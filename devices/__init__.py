"""The device gateway: the watch protocol over TCP and the phone / app HTTP API."""
