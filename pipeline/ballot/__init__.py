"""ballot"""
