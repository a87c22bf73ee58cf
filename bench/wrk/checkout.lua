-- POST /api/v1/orders with a fresh e-mail each time: a repeated e-mail would be refused
-- (409 licence_exists, R1). The e-mail is made of the run's tag, the thread and a counter.
-- With "numbers" as second argument, every 201's order number is kept (bench/writers.py).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local tag, keep_numbers, counter = "run", false, 0
local path = "/api/v1/orders"

function init(args)
  tag = args[1] or tag
  keep_numbers = args[2] == "numbers"
end

function request()
  mark_start()
  counter = counter + 1
  local body = string.format(
    '{"email": "%s-t%d-%d@bench.example", "name": "Bench Buyer", "country": "DE", ' ..
    '"currency": "EUR", "payment_method": "bank_transfer", ' ..
    '"items": [{"sku": "base-yearly", "quantity": 1}]}',
    tag, thread_id, counter)
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  count_status(status)
  if keep_numbers and status == 201 then
    local number = body:match('"number"%s*:%s*(%d+)')
    table.insert(samples, tonumber(number) or -1)
  end
end
