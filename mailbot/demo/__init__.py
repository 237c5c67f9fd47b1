"""`mailbot demo`: the whole job on loopback servers with a readable account."""
