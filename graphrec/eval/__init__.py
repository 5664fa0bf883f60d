"""graphrec.eval"""
