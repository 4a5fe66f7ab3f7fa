"""SCIM 2.0 (RFC 7643/7644) at /scim/v2/: Users (people and their accounts) and Groups (classes)."""
