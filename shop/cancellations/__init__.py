"""Declarations made through the cancel button (§312k BGB) and the withdrawal button
(§356a BGB): recorded, confirmed by e-mail, applied where they identify a contract."""
