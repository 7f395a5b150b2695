"""What administrators read about the running server: its settings, secrets hidden."""
