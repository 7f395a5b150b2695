"""Calls (呼叫/警情): incidents on the console, from device alarms, phone calls or agents."""
