"""One search box over elders (name, pinyin initials, phone, ID number, address) and calls, orders and
complaints by number."""
