"""Dispatch (派单): jobs offered to providers by SMS, one after another or several at once, until one accepts."""
