"""The console's server side: the WebSocket that pushes call changes to agents."""
