"""Provider settlement (结算): a monthly statement per provider of its evidenced services, paid by quantity
and quality, approved by a supervisor and marked paid; and the monthly subsidy claim to each district's
civil-affairs bureau."""
