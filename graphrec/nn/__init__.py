"""graphrec.nn"""
