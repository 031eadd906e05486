"""zanith_core.sql"""
