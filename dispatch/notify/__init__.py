"""Text messages: offers to providers, notices to relatives, and the replies that come back."""
