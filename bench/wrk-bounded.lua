-- wrk script: stop each thread after its share of a request budget, so every wrk run is bounded
-- in requests (the budget, the first argument after "--") as well as in seconds (wrk -d).
-- Extra headers (Host, Accept-Encoding) come from wrk -H as usual.
local budget = 0
local done = 0

function setup(thread)
  thread:set("id", 0)
end

function init(args)
  local total = tonumber(args[1]) or 100000
  local threads = tonumber(args[2]) or 1
  budget = math.max(1, math.floor(total / threads))
end

function response(status, headers, body)
  done = done + 1
  if done >= budget then
    wrk.thread:stop()
  end
end
