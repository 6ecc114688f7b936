-- wrk script for `sklad-bench ingress --load wrk`: every request posts the keyCRM webhook body
-- in the file SKLAD_WEBHOOK_BODY names, as keyCRM's "Send Webhook" action does.
local file = assert(io.open(os.getenv("SKLAD_WEBHOOK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
