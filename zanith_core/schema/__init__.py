"""zanith_core.schema"""
