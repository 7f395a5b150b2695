"""Government subsidies (养老服务补贴): dated policy versions as data, each elder's monthly allowance, and
the split of a service's price into subsidy and self-pay."""
