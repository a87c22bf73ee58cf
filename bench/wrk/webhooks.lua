-- Delivers pre-signed Stripe events to POST /webhooks/stripe, each exactly once per line of
-- the deliveries file (bench/run.py writes every event twice). Run with one connection per
-- thread: thread i of n sends lines i, i+n, i+2n, ... then appends a line to the done file
-- and stops, and bench/load.py ends wrk (SIGINT) once every thread has finished.
-- Arguments: deliveries file, done file, number of threads.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local mine, next_index, finished, done_file = {}, 1, false, nil

function init(args)
  local threads = tonumber(args[3])
  done_file = args[2]
  local line_number = 0
  for line in io.lines(args[1]) do
    line_number = line_number + 1
    if (line_number - 1) % threads == thread_id - 1 then
      local signature, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(mine, { signature = signature, body = body })
    end
  end
end

local function finish()
  if finished then return end
  finished = true
  local file = io.open(done_file, "a")
  file:write(thread_id, "\n")
  file:close()
  wrk.thread:stop()
end

function request()
  local delivery = mine[next_index]
  if delivery == nil then
    finish()
    return wrk.format("GET", "/bench-finished") -- never answered: the thread has stopped
  end
  mark_start()
  next_index = next_index + 1
  return wrk.format("POST", "/webhooks/stripe", {
    ["Content-Type"] = "application/json",
    ["Stripe-Signature"] = delivery.signature,
  }, delivery.body)
end

function response(status, headers, body)
  if finished then return end
  count_status(status)
  if next_index > #mine then finish() end
end
