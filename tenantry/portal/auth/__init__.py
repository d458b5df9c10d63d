"""Signing up and in: discovery magic links, the authenticate callback, choosing a clinic,
switching clinics, signing out and the automatic logoff pages."""
