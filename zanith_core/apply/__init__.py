"""zanith_core.apply"""
