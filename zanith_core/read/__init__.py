"""zanith_core.read"""
