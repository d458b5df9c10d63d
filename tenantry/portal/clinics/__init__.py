"""Clinics: the metadata schema stored on the organization, creation, and clinic settings."""
