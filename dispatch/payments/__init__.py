"""Money: charges, payments, settlement."""
