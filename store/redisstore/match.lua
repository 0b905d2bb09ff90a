-- Match: no arguments of its own.
match()
return OK
