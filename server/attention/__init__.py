"""What needs attention that only the server knows (issues 15 and 18): silent terminals,
the journal check, quarantined operations, failing webhook deliveries."""
