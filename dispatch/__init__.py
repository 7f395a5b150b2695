"""Elder emergency-call and home-service dispatch server."""
