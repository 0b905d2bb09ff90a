-- Lapse: ARGV[FIRST_ARG] user id. Ends the user's held session as a
-- disconnect once its window is over (Redis's clock), then matches.
-- Returns 1 when it ended one, else 0.
if lapse(ARGV[FIRST_ARG]) then
  match()
  return 1
end
return 0
