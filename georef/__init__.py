"""georef"""
