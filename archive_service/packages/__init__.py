"""Reading transfer packages safely (ZIP or directory, E-ARK CSIP SIP) and writing AIPs."""
