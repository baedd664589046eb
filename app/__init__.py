"""Gongkai domain and services: notices, rosters, validation, masking, posting periods,
objections, boards, users and audit. Pure Python: no Qt, no HTTP, no PDF library."""
