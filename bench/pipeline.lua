-- wrk script for bench/http_bench.ts's "pipelined" case: each request is a
-- run of N pipelined GET / (N = the first script argument, default 16), as
-- HTTP/1.1 pipelining benchmarks send them.
init = function(args)
  local depth = tonumber(args[1]) or 16
  local run = {}
  for i = 1, depth do
    run[i] = wrk.format(nil, "/")
  end
  req = table.concat(run)
end

request = function()
  return req
end
