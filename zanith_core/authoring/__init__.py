"""zanith_core.authoring"""
