-- wrk script for bench/http_bench.ts's "post" case: a JSON API call, a
-- 512-byte JSON object POSTed with its Content-Length (as fetch() and curl
-- send a string body).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local fields = {}
for i = 1, 16 do
  fields[i] = string.format('"field%02d":"%s"', i, string.rep("v", 18))
end
local body = "{" .. table.concat(fields, ",") .. "}"
wrk.body = body .. string.rep(" ", 512 - #body)
