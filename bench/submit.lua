-- One answer submission per request, each by a different resident, with its own
-- Idempotency-Key. Threads take interleaved tokens so no two requests share one.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  tokens = {}
  for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
  local f = io.open(os.getenv("BENCH_BODY"))
  body = f:read("*a")
  f:close()
  path = os.getenv("BENCH_PATH")
  step = tonumber(os.getenv("BENCH_THREADS"))
  i = tid
end

function request()
  local token = tokens[i]
  local key = "bench-" .. i
  i = i + step
  if token == nil then
    token = tokens[1]
  end
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body)
end
