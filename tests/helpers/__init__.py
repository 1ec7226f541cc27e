"""Helpers shared by the tests: loopback stand-ins of the real services, workflow runners, a browser driver."""
