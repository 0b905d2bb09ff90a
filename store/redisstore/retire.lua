-- Retire: ARGV[FIRST_ARG] instance. An instance that shuts down takes
-- itself over (take_over in lib.lua): its users' partners are told and
-- requeued, and nothing of it is left. Returns OK.
take_over(ARGV[FIRST_ARG])
match()
return OK
