"""The provider's job page: a signed link in the offer SMS to a mobile page (accept, navigate, evidence)."""
