"""Preservation copies: PDF/A conversion and its verification (rules.md "Preservation")."""
