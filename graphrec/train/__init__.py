"""graphrec.train"""
