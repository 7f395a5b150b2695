"""The door for devices/: normalised device events, device authentication and store-before-ack."""
