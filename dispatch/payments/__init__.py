"""Payments (缴费): self-pay taken online through a payment platform, in cash or by bank transfer at the desk,
refunds, and the charge of an evidenced service to the ledger."""
